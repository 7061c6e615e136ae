/**
 * The environment chain in the embedded runtime: one runtime per environment, each running the
 * state machine definitions synthesized for that environment's stack (hooks, drill and hand-over
 * states included), on its own simulated endpoint, fleet, bucket and ledger, as separate accounts
 * would. The first environment gets the team's upload; when an environment promotes, its HandOver
 * step puts the event on the (local) bus, and the next environment's AcceptHandover handler gets it
 * as EventBridge would deliver it (stamped with the sender's account), copies the artifact and
 * writes the release.json whose upload event starts its release. Virtual time runs on: the next
 * environment starts where the previous one ended.
 */
import type * as z from 'zod';
import { trailEntry } from '../core/app/hand-over.js';
import { HANDOVER_DETAIL_TYPE, HANDOVER_SOURCE, type EnvironmentInput, type HookSchema } from '../core/environments.js';
import { environmentPipelines, environmentSettings, type PipelineConfig } from '../lib/config.js';
import { LocalHandoverBus, LocalHookInvoker, LocalUpstreamArtifacts } from './chain-ports.js';
import { MemoryArtifactStore } from './memory.js';
import { EmbeddedRuntime, loadDefinitions, SIMULATION_EPOCH, type ProgressEvent } from './runtime.js';
import { defaultManifest, LOCAL_ARTIFACT_BUCKET, type Scenario } from './scenario.js';
import { simulationConfig, summarize, type SimulateOptions, type SimulationRun, type SimulationSummary } from './simulate.js';

/** A hook as configured, less its ARN (the chain names it in the environment's account). */
type HookInput = Omit<z.input<typeof HookSchema>, 'functionArn'>;

/** The simulated accounts of a chain that names none: one per environment, as teams deploy them. */
const LOCAL_ACCOUNTS = ['111111111111', '222222222222', '333333333333', '444444444444', '555555555555'] as const;

/** The hooks a simulated chain runs when the config names none: what a team would configure. */
export const LOCAL_CHAIN_HOOKS: Readonly<Record<string, readonly HookInput[]>> = {
  staging: [
    { name: 'integration-tests', stage: 'before_traffic', timeoutSeconds: 600 },
    { name: 'compatibility-suite', stage: 'before_traffic', timeoutSeconds: 300 },
  ],
  'pre-production': [
    { name: 'load-test-driver', stage: 'during_phase', timeoutSeconds: 120 },
    { name: 'stress-report', stage: 'after_phase', timeoutSeconds: 300 },
  ],
};

/** What one environment did in a chain's run. */
export interface EnvironmentSummary {
  readonly environment: string;
  readonly account: string;
  readonly outcome: SimulationSummary['outcome'] | 'not_reached' | 'handover_refused';
  readonly releaseId: string | null;
  readonly phaseReached: number;
  readonly rollback: SimulationSummary['rollback'];
  readonly hooks: readonly { hook: string; stage: string; phase: number | null; passed: boolean; message: string }[];
  readonly drill: { readonly passed: boolean; readonly message: string } | null;
  readonly handedOverTo: string | null;
  readonly handover: { readonly accepted: boolean; readonly message: string } | null;
  /** Virtual minutes from the chain's start to this environment's start and end. */
  readonly startedAtMinute: number;
  readonly endedAtMinute: number;
}

/** A chain's run: the overall summary (scenario.md's shape, plus `chain`), and each environment's runtime. */
export interface ChainRun extends SimulationRun {
  readonly summary: SimulationSummary & { readonly chain: readonly EnvironmentSummary[] };
  readonly runtimes: readonly { readonly environment: string; readonly runtime: EmbeddedRuntime }[];
}

/** The chain's config: the simulation's, with the local hooks (when none are configured) and the phase length on every plan. */
export function chainConfig(options: Pick<SimulateOptions, 'phaseMinutes' | 'config'>): PipelineConfig {
  const base = simulationConfig(options);
  const named = base.environments.some((e) => e.hooks.length > 0);
  const environments = base.environments.map((e, i) => {
    const account = e.account ?? LOCAL_ACCOUNTS[i]!;
    const hooks = named ? e.hooks : (LOCAL_CHAIN_HOOKS[e.name] ?? []).map((h) => ({ ...h, functionArn: `arn:aws:lambda:us-east-1:${account}:function:${base.prefix}-${h.name}` }));
    const phases = e.phases === undefined || options.phaseMinutes === undefined ? e.phases : e.phases.map((p) => ({ ...p, monitorMinutes: options.phaseMinutes! }));
    const env: EnvironmentInput = { ...e, account, hooks, ...(phases === undefined ? {} : { phases }) };
    return env;
  });
  return simulationConfig({ ...options, config: { ...(options.config ?? {}), environments } });
}

/** The scenario an environment runs: the candidate's events only where the scenario says its regression shows. */
function scenarioIn(scenario: Scenario, environment: string): Scenario {
  const where = scenario.chain?.regressionIn;
  if (where === undefined || where.includes(environment)) return scenario;
  return { ...scenario, candidate: { ...scenario.candidate, events: [] } };
}

const MINUTE_MS = 60_000;

/**
 * Runs a scenario through the whole chain.
 *
 * @example const { summary } = await simulateChain({ scenario: BUILTIN_SCENARIOS.find((s) => s.name === 'chain')! });
 */
export async function simulateChain(options: SimulateOptions): Promise<ChainRun> {
  const config = chainConfig(options);
  const pipelines = environmentPipelines(config);
  const knobs = options.scenario.chain ?? { hooks: {} };
  const hooks = new LocalHookInvoker(knobs.hooks);
  const envs: EnvironmentSummary[] = [];
  const runtimes: { environment: string; runtime: EmbeddedRuntime }[] = [];
  const summaries: SimulationSummary[] = [];
  const manifest = options.scenario.manifest ?? defaultManifest({ model: config.modelName });
  let previous: { runtime: EmbeddedRuntime; bus: LocalHandoverBus; account: string } | null = null;
  for (const p of pipelines) {
    const account = p.environment.account!;
    const name = p.environment.name;
    const startAt = previous === null ? SIMULATION_EPOCH : previous.runtime.clock.now().toISOString();
    const bus = new LocalHandoverBus();
    const artifacts = new MemoryArtifactStore();
    const upstream = previous === null ? undefined : new LocalUpstreamArtifacts(previous.runtime.artifacts, artifacts, knobs.corruptArtifactIn === name);
    await loadDefinitions(config, name);
    const runtime = new EmbeddedRuntime({
      config: p.config,
      chain: { config, environment: name, settings: environmentSettings(p, config, { partition: 'aws', account, region: p.environment.region ?? 'us-east-1' }) },
      scenario: scenarioIn(options.scenario, name),
      bucket: p.index === 0 ? LOCAL_ARTIFACT_BUCKET : `${LOCAL_ARTIFACT_BUCKET}-${name}`,
      hooks,
      bus,
      artifacts,
      ...(upstream === undefined ? {} : { upstream }),
      startAt,
      approvals: options.approvals,
      approvalPaceMs: options.approvalPaceMs,
      // The chain's minute (environments run one after another) and the environment, on each line.
      onProgress: options.onProgress === undefined ? undefined : (e: ProgressEvent) => options.onProgress!({ ...e, minute: e.minute + minutesBetween(SIMULATION_EPOCH, startAt), text: `[${name}] ${e.text}` }),
      faults: options.faults,
    });
    runtimes.push({ environment: name, runtime });
    const started = minutesBetween(SIMULATION_EPOCH, startAt);
    const arrival = previous === null || upstream === undefined ? await firstUpload(runtime, manifest, options.scenario.name) : await handedOver(runtime, previous, upstream, name);
    await runtime.settle();
    const releaseId = arrival.releaseId;
    const summary = await summarize(runtime, options.scenario, releaseId, manifest.model, manifest.version);
    summaries.push(summary);
    envs.push(await environmentSummary(runtime, name, account, summary, releaseId, arrival.handover, bus, started));
    if (releaseId === null || summary.outcome !== 'promoted' || bus.sent.length === 0) break;
    previous = { runtime, bus, account };
  }
  for (const p of pipelines.slice(envs.length)) {
    envs.push({ environment: p.environment.name, account: p.environment.account!, outcome: 'not_reached', releaseId: null, phaseReached: 0, rollback: null, hooks: [], drill: null, handedOverTo: null, handover: null, startedAtMinute: 0, endedAtMinute: 0 });
  }
  const summary = chainSummary(options.scenario, summaries, envs);
  const last = runtimes[runtimes.length - 1]!;
  return { summary, runtime: last.runtime, config, scenario: options.scenario, releaseId: envs.findLast((e) => e.releaseId !== null)?.releaseId ?? null, others: [], runtimes };
}

const minutesBetween = (from: string, to: string) => Math.round((new Date(to).getTime() - new Date(from).getTime()) / MINUTE_MS);

/** The team's upload into the first environment. */
async function firstUpload(runtime: EmbeddedRuntime, manifest: ReturnType<typeof defaultManifest>, scenarioName: string): Promise<{ releaseId: string | null; handover: null }> {
  const results = (await runtime.upload(JSON.stringify(manifest, null, 2), { version: manifest.version, versionId: `${scenarioName}-v1` })) as { releaseId?: string }[];
  return { releaseId: results.find((r) => r.releaseId !== undefined)?.releaseId ?? null, handover: null };
}

/** The previous environment's hand-over, delivered as EventBridge would; an accepted one starts the release. */
async function handedOver(
  runtime: EmbeddedRuntime,
  previous: { runtime: EmbeddedRuntime; bus: LocalHandoverBus; account: string },
  upstream: LocalUpstreamArtifacts,
  name: string,
): Promise<{ releaseId: string | null; handover: { accepted: boolean; message: string } }> {
  const entry = previous.bus.sent[0]!;
  const event = {
    version: '0',
    id: `local-handover-${name}`,
    source: entry.Source,
    'detail-type': entry.DetailType,
    account: previous.account,
    time: runtime.clock.now().toISOString(),
    region: 'us-east-1',
    resources: [],
    detail: JSON.parse(entry.Detail) as unknown,
  };
  if (entry.Source !== HANDOVER_SOURCE || entry.DetailType !== HANDOVER_DETAIL_TYPE) throw new Error(`local bus: unexpected event ${entry.Source}/${entry.DetailType}`);
  const result = (await runtime.invoke('accept-handover', event)) as { outcome: string; manifestKey?: string; reason?: string; sha256?: string };
  if (result.outcome !== 'accepted' || result.manifestKey === undefined) {
    return { releaseId: null, handover: { accepted: false, message: result.reason ?? result.outcome } };
  }
  const written = upstream.manifests.find((m) => m.key === result.manifestKey);
  if (written === undefined) throw new Error(`local chain: ${name} accepted the hand-over but wrote no ${result.manifestKey}`);
  const started = (await runtime.objectCreated(result.manifestKey, written.versionId, Buffer.byteLength(written.text))) as { releaseId?: string }[];
  return { releaseId: started.find((r) => r.releaseId !== undefined)?.releaseId ?? null, handover: { accepted: true, message: `accepted from ${previous.runtime.environment.name} (artifact SHA-256 ${result.sha256 ?? '?'})` } };
}

async function environmentSummary(
  runtime: EmbeddedRuntime,
  name: string,
  account: string,
  summary: SimulationSummary,
  releaseId: string | null,
  handover: { accepted: boolean; message: string } | null,
  bus: LocalHandoverBus,
  startedAtMinute: number,
): Promise<EnvironmentSummary> {
  // The environment's stage as the hand-over's trail records it (core/app/hand-over.ts trailEntry).
  const record = releaseId === null ? null : await runtime.ledger.getRelease(releaseId);
  const stage = record === null ? null : trailEntry(record, await runtime.ledger.timeline(record.releaseId), runtime.environment, account);
  const hooks = stage?.hooks ?? [];
  const drill = stage?.drill ?? null;
  const sent = bus.sent[0];
  return {
    environment: name,
    account,
    outcome: handover !== null && !handover.accepted ? 'handover_refused' : summary.outcome,
    releaseId,
    phaseReached: summary.phaseReached,
    rollback: summary.rollback,
    hooks,
    drill,
    handedOverTo: sent === undefined ? null : (JSON.parse(sent.Detail) as { to: string }).to,
    handover,
    startedAtMinute,
    endedAtMinute: startedAtMinute + runtime.minute,
  };
}

/** The chain's summary: the outcome where the release stopped (or production's), every environment's stage, one audit timeline. */
function chainSummary(scenario: Scenario, summaries: readonly SimulationSummary[], envs: readonly EnvironmentSummary[]): ChainRun['summary'] {
  const reached = envs.filter((e) => e.outcome !== 'not_reached');
  const stop = reached[reached.length - 1]!;
  const last = summaries[summaries.length - 1]!;
  const first = summaries[0]!;
  const outcome: SimulationSummary['outcome'] = stop.outcome === 'handover_refused' ? 'rejected' : stop.outcome === 'not_reached' ? 'rejected' : stop.outcome;
  return {
    ...last,
    scenario: scenario.name,
    outcome: stop === envs[envs.length - 1] || outcome !== 'promoted' ? outcome : 'rejected',
    gate: first.gate,
    incidents: summaries.flatMap((s, i) => s.incidents.map((n) => ({ ...n, environment: envs[i]!.environment }))),
    stateTransitions: summaries.reduce((n, s) => n + s.stateTransitions, 0),
    simulatedMinutes: stop.endedAtMinute,
    audit: summaries.flatMap((s, i) => s.audit.map((a) => ({ ...a, environment: envs[i]!.environment }))),
    chain: envs,
  };
}
