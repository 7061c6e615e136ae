/**
 * Cost of a release: state transitions, Step Functions, Lambda, GetMetricData, DynamoDB and SNS
 * cost per release at list prices, execution history against the 25,000-event limit, `simulate`
 * wall time. (Bundles, module load and synth: bench/footprint.ts; start-up: bench/startup.ts.)
 *
 * Run: npx tsx bench/cost.ts   (part of `npm run bench`)
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CloudWatchMetricsSource } from '../lambdas/adapters/cloudwatch-metrics.js';
import { HANDLER_SPECS, type HandlerName } from '../lib/pipeline-functions.js';
import { BUILTIN_SCENARIOS } from '../local/scenario.js';
import { eventItem, itemBytes, recordItem } from '../core/ledger-items.js';
import type { AuditEvent, RecordPatch, ReleaseRecord, ReleaseStatus, TransitionResult } from '../core/ports.js';
import { MemoryLedger } from '../local/memory.js';
import { simulate } from '../local/simulate.js';


/**
 * List prices (us-east-1, on-demand), as published on the AWS pricing pages for Step Functions,
 * Lambda and CloudWatch; see bench/README.md "Cost and footprint".
 */
export const PRICES = {
  /** Step Functions Standard: per state transition ($0.025 per 1,000). */
  stateTransition: 0.025 / 1000,
  /** Lambda: per request ($0.20 per 1M). */
  lambdaRequest: 0.2 / 1_000_000,
  /** Lambda on arm64: per GB-second. */
  lambdaGbSecondArm: 0.0000133334,
  /** CloudWatch GetMetricData: per metric requested ($0.01 per 1,000). */
  metricRequested: 0.01 / 1000,
  /** DynamoDB on-demand: per write request unit ($1.25 per 1M; one unit per KB written). */
  dynamoWriteUnit: 1.25 / 1_000_000,
  /** DynamoDB on-demand: per read request unit ($0.25 per 1M; one strongly consistent read of up to 4 KB). */
  dynamoReadUnit: 0.25 / 1_000_000,
  /** SNS: per publish ($0.50 per 1M requests; email/SMS delivery is the subscriber's, not counted). */
  snsPublish: 0.5 / 1_000_000,
} as const;

/**
 * The ledger of a costed release: the in-memory ledger (the same items as the DynamoDB one),
 * counting the request units each call costs on DynamoDB as the adapter makes it
 * (lambdas/adapters/dynamodb-ledger.ts): an append reads its eventId's marker (GetItem) and the
 * chain's tail (Query of up to 10 items), puts the event and its marker; a record update or
 * transition writes the record item; a read of the record reads it. Units: 1 KB a write unit, 4 KB
 * a (strongly consistent) read unit.
 */
export class MeteredLedger extends MemoryLedger {
  public writeUnits = 0;
  public readUnits = 0;
  private readonly tails = new Map<string, number[]>();

  public override async append(event: AuditEvent): Promise<'appended' | 'duplicate'> {
    const tail = this.tails.get(event.releaseId) ?? [];
    this.readUnits += 1 + Math.max(1, Math.ceil(tail.reduce((n, b) => n + b, 0) / 4096));
    const result = await super.append(event);
    if (result === 'appended') {
      const bytes = itemBytes(eventItem(event, tail.length + 1));
      this.writeUnits += Math.ceil(bytes / 1024) + 1;
      this.tails.set(event.releaseId, [...tail, bytes].slice(-10));
    }
    return result;
  }

  private async recordUnits(releaseId: string): Promise<number> {
    const r = await super.getRelease(releaseId);
    return r === null ? 1 : Math.ceil(itemBytes(recordItem(r)) / 1024);
  }

  public override async transition(releaseId: string, from: readonly ReleaseStatus[], to: ReleaseStatus, patch?: RecordPatch): Promise<TransitionResult> {
    const out = await super.transition(releaseId, from, to, patch);
    this.writeUnits += await this.recordUnits(releaseId);
    return out;
  }

  public override async update(releaseId: string, patch: RecordPatch): Promise<void> {
    await super.update(releaseId, patch);
    this.writeUnits += await this.recordUnits(releaseId);
  }

  public override async createRelease(record: ReleaseRecord): Promise<{ created: boolean; record: ReleaseRecord }> {
    const out = await super.createRelease(record);
    this.writeUnits += Math.ceil(itemBytes(recordItem(out.record)) / 1024);
    return out;
  }

  public override async getRelease(releaseId: string): Promise<ReleaseRecord | null> {
    const r = await super.getRelease(releaseId);
    this.readUnits += r === null ? 1 : Math.ceil(itemBytes(recordItem(r)) / 4096);
    return r;
  }
}

/** Assumed billed duration of one handler invocation on AWS (ms): warm, a few SDK calls. */
export const ASSUMED_INVOCATION_MS = 120;
/**
 * Metrics one look of the canary analysis requests from CloudWatch, as the adapter builds the query
 * once the phase's latency thresholds are fixed (2 variants × 8 statistics, + SampleCount and 4 × PR(:T)).
 */
export const METRICS_PER_LOOK = new CloudWatchMetricsSource({} as CloudWatchClient, 'BuilderBrain/Serving').queries('m', { p50: 180, p95: 420, p99: 650, tail: 1000 }).length;
/** Step Functions history events per state entered, by state type (entered + exited, plus task scheduling). */
export const HISTORY_EVENTS_PER_STATE: Record<string, number> = { Task: 5, Wait: 2, Choice: 2, Pass: 2, Succeed: 1, Fail: 1, Map: 4, Parallel: 4 };
export const HISTORY_LIMIT = 25_000;

export interface ReleaseCost {
  readonly phaseMinutes: number;
  /** The bake after 100% (0: none). */
  readonly bakeMinutes: number;
  readonly outcome: string;
  readonly stateTransitions: number;
  readonly lambdaInvocations: number;
  readonly analysisLooks: number;
  readonly bakeLooks: number;
  readonly dynamo: { readonly writeUnits: number; readonly readUnits: number };
  readonly notifications: number;
  readonly usd: { readonly stepFunctions: number; readonly lambda: number; readonly getMetricData: number; readonly dynamodb: number; readonly sns: number; readonly total: number };
  /** Largest execution's estimated history events, and its share of the 25,000 limit. */
  readonly historyEvents: number;
  readonly historyShare: number;
  readonly simulateSeconds: number;
}

/**
 * Metrics one bake window requests (the release's minutes, or a reference's): no latency thresholds
 * there, so the plain statistics of both variants.
 */
export const METRICS_PER_BAKE_WINDOW = new CloudWatchMetricsSource({} as CloudWatchClient, 'BuilderBrain/Serving').queries('m', null).length;

/**
 * One healthy four-phase release with `phaseMinutes` phases and a bake of `bakeMinutes` (the
 * default config's look every 10 minutes against the day before), costed.
 */
export async function releaseCost(phaseMinutes: number, bakeMinutes = 0): Promise<ReleaseCost> {
  const scenario = BUILTIN_SCENARIOS.find((s) => s.name === 'healthy')!;
  const ledger = new MeteredLedger();
  const started = performance.now();
  const run = await simulate({ scenario, phaseMinutes, ledger, config: { bake: { minutes: bakeMinutes } } });
  const simulateSeconds = (performance.now() - started) / 1000;
  const runs = run.runtime.executionsRun;
  const tasks = runs.reduce((n, r) => n + (r.enteredByType['Task'] ?? 0), 0);
  const timeline = await run.runtime.ledger.timeline(run.releaseId!);
  const looks = timeline.filter((e) => e.type === 'analysis').length;
  // Each bake look reads the release's window and the day before (the week too only when the day is missing: not in a healthy run).
  const bakeLooks = timeline.filter((e) => e.type === 'bake' && e.detail.state !== 'started').length;
  const notifications = run.runtime.notifier.notifications.length;
  const memoryOf = (h: HandlerName) => HANDLER_SPECS[h].memoryMb / 1024;
  // Every Task is one Lambda invocation except the .sync child start; weigh by the analyze function's memory for looks.
  const gbSeconds = (looks * memoryOf('analyze-canary') + (tasks - looks) * memoryOf('start-phase')) * (ASSUMED_INVOCATION_MS / 1000);
  const stepFunctions = run.summary.stateTransitions * PRICES.stateTransition;
  const lambda = tasks * PRICES.lambdaRequest + gbSeconds * PRICES.lambdaGbSecondArm;
  const getMetricData = (looks * METRICS_PER_LOOK + bakeLooks * 2 * METRICS_PER_BAKE_WINDOW) * PRICES.metricRequested;
  const dynamodb = ledger.writeUnits * PRICES.dynamoWriteUnit + ledger.readUnits * PRICES.dynamoReadUnit;
  const sns = notifications * PRICES.snsPublish;
  const history = Math.max(
    ...runs.map((r) => 2 + Object.entries(r.enteredByType).reduce((n, [type, count]) => n + count * (HISTORY_EVENTS_PER_STATE[type] ?? 2), 0)),
  );
  return {
    phaseMinutes,
    bakeMinutes,
    outcome: run.summary.outcome,
    stateTransitions: run.summary.stateTransitions,
    lambdaInvocations: tasks,
    analysisLooks: looks,
    bakeLooks,
    dynamo: { writeUnits: ledger.writeUnits, readUnits: ledger.readUnits },
    notifications,
    usd: { stepFunctions, lambda, getMetricData, dynamodb, sns, total: stepFunctions + lambda + getMetricData + dynamodb + sns },
    historyEvents: history,
    historyShare: history / HISTORY_LIMIT,
    simulateSeconds,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  for (const [minutes, bake] of [[60, 0], [60, 1440], [1440, 0]] as const) console.log(JSON.stringify(await releaseCost(minutes, bake)));
}
