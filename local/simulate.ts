/**
 * `builderbrain simulate`: one release of a scenario through the embedded runtime, and its summary
 * in the shape of scenario.md ("Summary").
 */
import type { VariantMinute } from '../core/analysis.js';
import { AUDIT_DETAILS, describeEvent, type AuditEventType, type StoredAuditEvent } from '../core/audit.js';
import type { ReleaseRecord } from '../core/release-record.js';
import { parsePipelineConfig, type PipelineConfig, type PipelineConfigInput } from '../lib/config.js';
import type { ReportInput, TraceMarker, VariantPoint } from './report.js';
import { EmbeddedRuntime, loadDefinitions, SIMULATION_EPOCH, type ApprovalResponder, type InjectedFault, type ProgressEvent } from './runtime.js';
import { defaultManifest, type Scenario } from './scenario.js';
import { prepareRollbackRelease } from '../core/app/request-rollback.js';
import { sha256Hex } from '../core/app/ids.js';
import type { ReleaseManifest } from '../core/manifest.js';
import type { MemoryLedger, RouterOperation } from './memory.js';
import type { FleetPort } from './fleet.js';
import { analysisRows, analysisSummary, type AnalysisSummary } from './analysis-summary.js';
import { releaseIncidents } from '../core/app/incidents.js';
import { awaitsAcknowledgement, incidentsFrom } from '../core/incidents.js';

/** The JSON summary of scenario.md. */
export interface SimulationSummary {
  readonly scenario: string;
  readonly outcome: 'promoted' | 'rolled_back' | 'rejected' | 'rollback_failed';
  readonly release: { readonly model: string; readonly version: string };
  readonly gate: { readonly passed: boolean; readonly checks: readonly { name: string; passed: boolean; value: number | string; threshold: number | string }[] } | null;
  readonly phaseReached: number;
  readonly rollback: {
    readonly reason: string;
    readonly severity: string;
    readonly atMinute: number;
    readonly regressionStartedAtMinute: number | null;
    readonly detectionMinutes: number | null;
    /** The canary rule that decided (an extension of scenario.md): the loop's failing rule or the alarm's; null for other triggers. */
    readonly rule: string | null;
  } | null;
  readonly incidents: readonly { readonly severity: string; readonly reason: string; readonly title: string; readonly environment?: string }[];
  readonly finalTraffic: { readonly baseline: number; readonly candidate: number };
  readonly stateTransitions: number;
  readonly simulatedMinutes: number;
  readonly audit: readonly SummaryAuditEvent[];
  /** The post-release bake, when one ran (an extension of scenario.md's summary). */
  readonly bake?: { readonly minutes: number; readonly watchedMinutes: number; readonly reference: string | null; readonly outcome: 'released' | 'regressed' | 'baking' };
  /** After a rollback: whether the restored version was verified healthy again (an extension). */
  readonly recovery?: { readonly recovered: boolean; readonly message: string };
  /** The scenario's operator rolled the released version back: the release that brought back the one before (an extension). */
  readonly rolledBackBy?: { readonly releaseId: string | null; readonly version: string; readonly emergency: boolean; readonly outcome: string };
  /** After a rollback: the post-rollback analysis (failure mode, onset, candidate causes; local/analysis-summary.ts; an extension). */
  readonly analysis?: AnalysisSummary;
  /**
   * The release's incidents and where they stand once the on-call follow-up ended (an extension;
   * only when the release opened any): the status updates' minutes, while nobody acknowledged.
   */
  readonly incidentStates?: readonly IncidentStateSummary[];
  /** A hotfix release (the manifest's `hotfix`): why, the incident, who asked, the plan it ran and who approved it (an extension; absent otherwise). */
  readonly hotfix?: HotfixSummary;
}

export interface HotfixSummary {
  readonly incident: string;
  readonly reason: string;
  readonly requestedBy: string;
  readonly plan: readonly { readonly weight: number; readonly monitorMinutes: number; readonly requiresApproval: boolean }[] | null;
  readonly approvedBy: readonly string[];
}

export interface IncidentStateSummary {
  readonly id: string;
  readonly severity: string;
  readonly reason: string;
  readonly state: string;
  readonly openedAtMinute: number;
  /** The minutes the status updates went out (every `incidents.updateEveryMinutes` while unacknowledged). */
  readonly updatesAtMinutes: readonly number[];
}

/**
 * After the release ended, the simulation keeps the incident schedule running this long while a
 * P0/P1 stays unacknowledged (nobody acknowledges a simulation unless asked to): the on-call follow-up.
 */
export const INCIDENT_FOLLOW_UP_MINUTES = 60;

export interface SummaryAuditEvent {
  /** In a chain's run: the environment whose ledger holds the event. */
  readonly environment?: string;
  readonly at: string;
  readonly type: AuditEventType;
  readonly actor: string;
  readonly phase?: number;
  readonly weight?: number;
  readonly text: string;
}

export interface SimulateOptions {
  readonly scenario: Scenario;
  /** Monitoring minutes of every phase (default: the pipeline config's, 60). */
  readonly phaseMinutes?: number;
  readonly approvals?: ApprovalResponder;
  readonly approvalPaceMs?: number;
  readonly config?: PipelineConfigInput;
  readonly faults?: readonly InjectedFault[];
  readonly routerFailures?: readonly RouterOperation[];
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Deliver the upload event this many times (S3 delivers at least once). */
  readonly deliveries?: number;
  /** Upload a second release of the same model at the same time (the release lock decides). */
  readonly concurrentVersion?: string;
  /** The ledger the runtime runs on (local/state-dir.ts persists it for the operator commands). */
  readonly ledger?: MemoryLedger;
  /** What serves traffic (default: the scenario's simulated fleet); a replay passes its recording. */
  readonly fleet?: FleetPort;
}

export interface SimulationRun {
  readonly summary: SimulationSummary;
  readonly runtime: EmbeddedRuntime;
  readonly config: PipelineConfig;
  readonly scenario: Scenario;
  readonly releaseId: string | null;
  /** Summaries of the other releases (duplicate or concurrent uploads). */
  readonly others: readonly { releaseId: string; outcome: string }[];
}

/** The pipeline config a simulation runs with: the defaults, the scenario's phase length, overrides. */
export function simulationConfig(options: Pick<SimulateOptions, 'phaseMinutes' | 'config'> & { readonly scenario?: Pick<Scenario, 'bake'> }): PipelineConfig {
  const input = options.config ?? {};
  // The smoke request a simulation sends when the config names none: what a team would configure.
  // The post-release bake runs when the scenario asks for one (24 simulated hours would dwarf the
  // release itself): `bake` of the scenario, else of the config, else none.
  const bake = { minutes: options.scenario?.bake?.minutes ?? 0, ...(options.scenario?.bake ?? {}), ...(input.bake ?? {}) };
  const withSmoke = { ...input, bake, deployment: { smoke: [LOCAL_SMOKE_SAMPLE], bakeMinutes: 30, ...(input.deployment ?? {}) } };
  const base = parsePipelineConfig(withSmoke);
  if (options.phaseMinutes === undefined) return base;
  return parsePipelineConfig({
    ...withSmoke,
    phases: base.phases.map((p) => ({ ...p, monitorMinutes: options.phaseMinutes })),
  });
}

/** A smoke request and the shape its answer must have (a plan with steps), as a team would configure it. */
export const LOCAL_SMOKE_SAMPLE = {
  name: 'plan-a-small-build',
  contentType: 'application/json',
  body: JSON.stringify({ prompt: 'Build a two-room cabin with a porch', maxSteps: 12 }),
  expect: {
    jsonSchema: {
      type: 'object',
      required: ['answer', 'plan'],
      properties: { answer: { type: 'string' }, plan: { type: 'object', required: ['steps'], properties: { steps: { type: 'array', minItems: 1, items: { type: 'string' } } } } },
    },
    maxLatencyMs: 2000,
  },
};

const MINUTE_MS = 60_000;
/** Minutes from `epoch` (the runtime's start) to `iso`. */
const minuteOf = (iso: string, epoch: string = SIMULATION_EPOCH) => Math.round((new Date(iso).getTime() - new Date(epoch).getTime()) / MINUTE_MS);

/**
 * Runs one scenario to its outcome.
 *
 * @example const { summary } = await simulate({ scenario: BUILTIN_SCENARIOS[0], phaseMinutes: 60 });
 */
export async function simulate(options: SimulateOptions): Promise<SimulationRun> {
  // A chain scenario runs every environment (local/chain.ts; imported here only, so the modules do not cycle at load).
  if (options.scenario.chain !== undefined) return (await import('./chain.js')).simulateChain(options);
  const config = simulationConfig(options);
  await loadDefinitions(config);
  const runtime = new EmbeddedRuntime({
    config,
    scenario: options.scenario,
    approvals: options.approvals,
    approvalPaceMs: options.approvalPaceMs,
    faults: options.faults,
    routerFailures: options.routerFailures,
    onProgress: options.onProgress,
    ledger: options.ledger,
    fleet: options.fleet,
  });
  const manifest = options.scenario.manifest ?? defaultManifest({ model: config.modelName });
  const results = (await runtime.upload(JSON.stringify(manifest, null, 2), {
    version: manifest.version,
    versionId: `${options.scenario.name}-v1`,
    deliveries: options.deliveries,
  })) as { outcome: string; releaseId?: string }[];
  if (options.concurrentVersion !== undefined) {
    const other = { ...manifest, version: options.concurrentVersion };
    await runtime.upload(JSON.stringify(other, null, 2), { version: other.version, versionId: `${options.scenario.name}-v2` });
  }
  await runtime.settle();
  const releaseId = results.find((r) => r.releaseId !== undefined)?.releaseId ?? null;
  const rolledBackBy = options.scenario.operator === undefined ? undefined : await operatorRollback(runtime, options.scenario, releaseId, manifest);
  const released = { ...(await summarize(runtime, options.scenario, releaseId, manifest.model, manifest.version)), ...(rolledBackBy === undefined ? {} : { rolledBackBy }) };
  const incidentStates = releaseId === null ? [] : await incidentFollowUp(runtime, releaseId);
  const summary = incidentStates.length === 0 ? released : { ...released, incidentStates };
  const others: { releaseId: string; outcome: string }[] = [];
  for (const r of await runtime.ledger.listReleases(100)) {
    if (r.releaseId !== releaseId) others.push({ releaseId: r.releaseId, outcome: r.status });
  }
  return { summary, runtime, config, scenario: options.scenario, releaseId, others };
}

/**
 * The scenario's operator, once the release is released: `builderbrain rollback <model>@<version>`
 * as the CLI does it (core/app/request-rollback.ts prepareRollbackRelease, then the upload), with
 * the version that served before seeded in the ledger as the release it was.
 */
async function operatorRollback(runtime: EmbeddedRuntime, scenario: Scenario, releaseId: string | null, manifest: ReleaseManifest): Promise<SimulationSummary['rolledBackBy']> {
  const op = scenario.operator!.rollbackReleased;
  const record = releaseId === null ? null : await runtime.ledger.getRelease(releaseId);
  if (record?.status !== 'released' || manifest.previousVersion === null) return undefined;
  const previousId = await seedPreviousRelease(runtime, manifest);
  const prepared = await prepareRollbackRelease({ previousReleaseId: previousId, of: manifest.version, reason: op.reason, emergency: op.emergency, requestedBy: 'local-operator', approvedBy: op.emergency ? null : 'local-second-operator' }, runtime);
  const started = (await runtime.upload(prepared.text, { version: prepared.version, versionId: `${scenario.name}-rollback` })) as { releaseId?: string }[];
  await runtime.settle();
  const id = started.find((r) => r.releaseId !== undefined)?.releaseId ?? null;
  const back = id === null ? null : await runtime.ledger.getRelease(id);
  return { releaseId: id, version: prepared.version, emergency: op.emergency, outcome: back?.status ?? 'not_started' };
}

/** The release of the version before the scenario's, as the ledger would hold it: released, its manifest and artifact in the bucket. */
async function seedPreviousRelease(runtime: EmbeddedRuntime, manifest: ReleaseManifest): Promise<string> {
  const previous = defaultManifest({ model: manifest.model, version: manifest.previousVersion!, previousVersion: null, releaseType: 'patch' });
  const text = JSON.stringify(previous, null, 2);
  const source = { bucket: runtime.bucket, key: `models/${previous.model}/${previous.version}/release.json`, versionId: 'seeded' };
  runtime.artifacts.put(source.bucket, source.key, text, source.versionId);
  const artifact = /^s3:\/\/([^/]+)\/(.+)$/.exec(previous.artifact.uri)!;
  runtime.artifacts.putArtifact(artifact[1]!, artifact[2]!, { size: 7_400_000_000, sha256: previous.artifact.sha256 }, 'seeded');
  const at = new Date(new Date(SIMULATION_EPOCH).getTime() - 7 * 24 * 60 * MINUTE_MS).toISOString();
  const releaseId = `${previous.model}-${previous.version.replace(/[.+]/g, '_')}-seeded0`;
  await runtime.ledger.createRelease({
    releaseId, model: previous.model, version: previous.version, status: 'released', artifact: { ...previous.artifact }, manifestSha256: sha256Hex(text), source,
    receivedAt: at, updatedAt: at, canaryExecutionArn: null, phase: 3, weight: 100, lastVerdict: null, approvers: [], outcome: { status: 'released', reason: null, severity: null, at }, incidentPublished: false,
  });
  return releaseId;
}

/**
 * The on-call follow-up: while one of the release's P0/P1 incidents is open and unacknowledged, the
 * virtual clock runs on (the release has ended: no traffic is simulated, only the incident schedule)
 * for up to {@link INCIDENT_FOLLOW_UP_MINUTES}; then where each incident stands.
 */
async function incidentFollowUp(runtime: EmbeddedRuntime, releaseId: string): Promise<IncidentStateSummary[]> {
  for (let m = 0; m < INCIDENT_FOLLOW_UP_MINUTES; m++) {
    if (!(await releaseIncidents(runtime.ledger, releaseId)).some(awaitsAcknowledgement)) break;
    runtime.clock.advance(MINUTE_MS);
    await runtime.remindIncidents();
  }
  const timeline = await runtime.ledger.timeline(releaseId);
  return incidentsFrom(timeline).map((i) => ({
    id: i.id,
    severity: i.severity,
    reason: i.reason,
    state: i.state,
    openedAtMinute: minuteOf(i.openedAt, runtime.startedAt),
    updatesAtMinutes: timeline.filter((e) => e.type === 'incident' && e.detail.action === 'update' && e.detail.n === i.n).map((e) => minuteOf(e.at, runtime.startedAt)),
  }));
}

/** The summary of one runtime's release (a chain summarizes each environment's with it). */
export async function summarize(runtime: EmbeddedRuntime, scenario: Scenario, releaseId: string | null, model: string, version: string): Promise<SimulationSummary> {
  const record = releaseId === null ? null : await runtime.ledger.getRelease(releaseId);
  const timeline = releaseId === null ? [] : await runtime.ledger.timeline(releaseId);
  // Written by this very run: whole, so read with the detail's own schema.
  const checks = timeline.flatMap((e) => (e.type === 'gate_check' ? [AUDIT_DETAILS.gate_check.parse(e.detail)] : []));
  const gate: SimulationSummary['gate'] =
    checks.length === 0
      ? null
      : { passed: checks.every((c) => c.passed), checks: checks.map((c) => ({ name: c.name, passed: c.passed, value: c.value, threshold: c.threshold })) };
  const status = record?.status ?? 'rejected';
  const rollbackFailed = timeline.some((e) => e.type === 'rollback_failed') && status !== 'rolled_back';
  const outcome: SimulationSummary['outcome'] = rollbackFailed
    ? 'rollback_failed'
    : status === 'promoted' || status === 'released' || status === 'baking'
      ? 'promoted'
      : status === 'rolled_back' || status === 'rolling_back'
        ? 'rolled_back'
        : 'rejected';
  const weights = runtime.router.log.filter((l) => l.op === 'setCandidateWeight' && l.model === model).map((l) => l.weight ?? 0);
  const phaseReached = weights.length === 0 ? 0 : Math.max(...weights);
  const rollbackEvent = timeline.find((e) => e.type === 'rollback' || e.type === 'rollback_failed');
  let rollback: SimulationSummary['rollback'] = null;
  if (rollbackEvent !== undefined && outcome !== 'promoted') {
    const d = rollbackEvent.detail;
    const atMinute = minuteOf(rollbackEvent.at, runtime.startedAt);
    const started = runtime.fleet.regressionStartedAtMinute;
    rollback = {
      reason: String(rollbackEvent.type === 'rollback_failed' ? 'rollback_failed' : d.reason),
      severity: String(d.severity),
      atMinute,
      regressionStartedAtMinute: started,
      detectionMinutes: started === null ? null : atMinute - started,
      // The canary rule that decided, whichever path rolled back (the loop's verdict or an alarm); null for the others.
      rule: rollbackEvent.type === 'rollback' ? (rollbackEvent.detail.rule ?? null) : null,
    };
  }
  const split = await runtime.router.current(model);
  return {
    scenario: scenario.name,
    outcome,
    release: { model, version },
    gate,
    phaseReached,
    rollback,
    incidents: runtime.incidents.map((n) => ({ severity: n.severity ?? 'P3', reason: n.reason ?? 'unknown', title: n.title })),
    finalTraffic: { baseline: split.baseline, candidate: split.candidate },
    stateTransitions: runtime.stateTransitions,
    simulatedMinutes: runtime.minute,
    audit: timeline.map((e) => ({
      at: e.at,
      type: e.type,
      actor: e.actor,
      ...(e.phase === undefined ? {} : { phase: e.phase }),
      ...(e.weight === undefined ? {} : { weight: e.weight }),
      text: describeEvent(e, 'summary'),
    })),
    ...postRelease(record, timeline),
    ...(await analysisSummary(runtime, record)),
    ...hotfixSummary(record, timeline),
  };
}

/** The summary's `hotfix`, for a hotfix release only (a healthy release's summary is unchanged). */
function hotfixSummary(record: ReleaseRecord | null, timeline: readonly StoredAuditEvent[]): { hotfix?: HotfixSummary } {
  const h = record?.hotfix;
  if (h == null) return {};
  const plan = timeline.find((e): e is Extract<StoredAuditEvent, { type: 'hotfix' }> => e.type === 'hotfix')?.detail.plan ?? null;
  const approvedBy = record!.approvers.filter((a) => a.decision === 'approved').map((a) => a.identity);
  return { hotfix: { incident: h.incident, reason: h.reason, requestedBy: h.requestedBy, plan, approvedBy } };
}

/** The summary's bake and recovery, when the release had them. */
function postRelease(record: ReleaseRecord | null, timeline: readonly StoredAuditEvent[]): Pick<SimulationSummary, 'bake' | 'recovery'> {
  const out: { bake?: SimulationSummary['bake']; recovery?: SimulationSummary['recovery'] } = {};
  const b = record?.bake;
  if (b != null) {
    const regressed = timeline.some((e) => e.type === 'bake' && e.detail.state === 'regressed');
    out.bake = { minutes: b.plannedMinutes, watchedMinutes: b.watchedMinutes, reference: b.reference, outcome: regressed ? 'regressed' : record?.status === 'released' ? 'released' : 'baking' };
  }
  if (record?.recovery != null) out.recovery = { recovered: record.recovery.recovered, message: record.recovery.message };
  return out;
}

const rate = (x: number, n: number) => (n > 0 ? x / n : null);

/** One variant's minute as the report's charts plot it. */
const chartPoint = (v: VariantMinute): VariantPoint => ({
  requests: v.requests,
  errorRate: rate(v.errors, v.requests),
  p99: v.latencyP99,
  riskEnergy: v.riskEnergy,
  constraintViolationRate: rate(v.constraintViolations, v.requests),
});

/** A chain's run in the report's summary: one row per environment (its charts are the last environment's). */
function chainReportRows(summary: SimulationSummary): [string, string][] {
  const chain = (summary as SimulationSummary & { chain?: readonly { environment: string; outcome: string; phaseReached: number; hooks: readonly { passed: boolean }[]; drill: { passed: boolean } | null; startedAtMinute: number; endedAtMinute: number; handedOverTo: string | null }[] }).chain;
  if (chain === undefined) return [];
  return chain.map((e) => [
    `environment ${e.environment}`,
    e.outcome === 'not_reached'
      ? 'not reached'
      : `${e.outcome} at ${e.phaseReached}%, minutes ${e.startedAtMinute}–${e.endedAtMinute}; ${e.hooks.length === 0 ? 'no hooks' : `hooks ${e.hooks.filter((h) => h.passed).length}/${e.hooks.length} passed`}${e.drill === null ? '' : `; rollback drill ${e.drill.passed ? 'passed' : 'FAILED'}`}${e.handedOverTo === null ? '' : `; handed over to ${e.handedOverTo}`}`,
  ]);
}

/** What the HTML report shows of a run. */
export function reportInput(run: SimulationRun, wallSeconds: number | null): ReportInput {
  const { summary, runtime, config } = run;
  const markers: TraceMarker[] = [];
  for (const p of runtime.progress) {
    if (p.kind === 'step') continue;
    markers.push({ minute: p.minute, kind: p.kind === 'rejected' ? 'rollback' : p.kind, label: p.text });
  }
  if (summary.rollback?.regressionStartedAtMinute != null) {
    markers.push({ minute: summary.rollback.regressionStartedAtMinute, kind: 'regression', label: 'scenario event: the candidate regresses' });
  } else if (runtime.fleet.regressionStartedAtMinute !== null) {
    markers.push({ minute: runtime.fleet.regressionStartedAtMinute, kind: 'regression', label: 'scenario event: the candidate changes' });
  }
  if (summary.analysis?.onset != null) markers.push({ minute: summary.analysis.onset.atMinute, kind: 'onset', label: `estimated onset (post-rollback analysis): ${summary.analysis.onset.signal}, confidence ${(summary.analysis.onset.confidence * 100).toFixed(1)}%` });
  markers.sort((a, b) => a.minute - b.minute);
  return {
    title: `BuilderBrain Release — simulated release of ${summary.release.model} ${summary.release.version}: ${summary.outcome.replace('_', ' ')}`,
    description: `Scenario ${run.scenario.name}: ${run.scenario.description}`,
    summaryRows: [
      ['outcome', summary.outcome],
      ['phase reached', `${summary.phaseReached}%`],
      ['rollback', summary.rollback === null ? '—' : `${summary.rollback.reason} (${summary.rollback.severity}) at minute ${summary.rollback.atMinute}${summary.rollback.detectionMinutes === null ? '' : `, ${summary.rollback.detectionMinutes} min after the regression began`}`],
      ['final traffic', `${summary.finalTraffic.baseline}% baseline / ${summary.finalTraffic.candidate}% candidate`],
      ['gate', summary.gate === null ? 'not run' : summary.gate.passed ? 'all checks passed' : `failed: ${summary.gate.checks.filter((c) => !c.passed).map((c) => c.name).join(', ')}`],
      ['simulated minutes', String(summary.simulatedMinutes)],
      ['state transitions', String(summary.stateTransitions)],
      ...(wallSeconds === null ? [] : ([['wall time', `${wallSeconds.toFixed(2)} s`]] as [string, string][])),
      ...chainReportRows(summary),
      ...(summary.bake === undefined ? [] : ([['bake', `${summary.bake.outcome}: ${summary.bake.watchedMinutes}/${summary.bake.minutes} min watched at 100% against the previous version${summary.bake.reference === null ? '' : ` a ${summary.bake.reference} before`}`]] as [string, string][])),
      ...(summary.recovery === undefined ? [] : ([['recovery', `${summary.recovery.recovered ? 'verified' : 'NOT verified (P0)'}: ${summary.recovery.message}`]] as [string, string][])),
    ],
    minutes: [...runtime.fleet.minutes.map((m) => ({ minute: m.minute, weight: m.weight, canary: chartPoint(m.datapoint.canary), baseline: chartPoint(m.datapoint.baseline) })),
      // Where the release ended: the traffic it left (after a rollback, 0% on the candidate).
      {
        minute: summary.simulatedMinutes,
        weight: summary.finalTraffic.candidate,
        canary: { requests: 0, errorRate: null, p99: null, riskEnergy: null, constraintViolationRate: null },
        baseline: { requests: 0, errorRate: null, p99: null, riskEnergy: null, constraintViolationRate: null },
      },
    ],
    markers,
    thresholds: {
      errorRateRatio: config.policy.canary.errorRateRatio,
      latencyRatioWarn: config.policy.canary.latencyRatioWarn,
      latencyRatioCritical: config.policy.canary.latencyRatioCritical,
      maxConstraintViolationRate: config.policy.canary.maxConstraintViolationRate,
    },
    incidents: summary.incidents,
    ...(summary.analysis === undefined ? {} : { analysis: analysisRows(summary.analysis) }),
    audit: summary.audit.map((a) => ({ at: a.at, type: a.type, text: a.text })),
    // Each look's verdict as the AnalyzeCanary (or Bake) step returned it, every rule's evidence included.
    looks: runtime.looks.map((l) => ({ minute: l.minute, weight: l.weight, loop: l.loop, phase: l.phase, action: l.action, verdict: l.verdict })),
    outcome: summary.outcome,
  };
}
