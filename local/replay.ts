/**
 * `builderbrain replay` (../shared/spec/replay.md): a release judged on metrics that really
 * happened. The pipeline runs exactly as in `simulate` — the synthesized state machines, the real
 * handlers, the simulated endpoint for the deployment steps, the alarm rules — but the fleet port
 * is a {@link RecordedFleet}: every minute of a canary phase serves the recording's line for that
 * phase and minute.
 */
import type { ReleaseManifest } from '../core/manifest.js';
import type { Policy } from '../core/policy.js';
import { datapointOf, type EmittedMinute } from './cloudwatch.js';
import { PhaseClock, type FleetMinute, type FleetPort } from './fleet.js';
import type { RecordingLine } from './recording.js';
import type { ProgressEvent } from './runtime.js';
import { SIMULATION_EPOCH } from './runtime.js';
import { BUILTIN_SCENARIOS, DEFAULT_SCENARIO, LOCAL_ARTIFACT_BUCKET, ScenarioSchema, defaultManifest, type Scenario } from './scenario.js';
import { simulate, simulationConfig, type SimulationRun, type SimulationSummary } from './simulate.js';
import type { PipelineConfig, PipelineConfigInput } from '../lib/config.js';

const NOTHING: EmittedMinute = Object.freeze({ canary: null, baseline: null });

/**
 * The fleet port of a replay. A new weight starts a phase (the plan's weights increase); minute k of
 * the phase of weight w serves the line `{ weight: w, minute: k }`. A minute the recording lacks —
 * a gap, or past the phase's last line — and every minute without canary traffic have no data.
 */
export class RecordedFleet implements FleetPort {
  private readonly byPhase = new Map<number, Map<number, RecordingLine>>();
  private readonly phases = new PhaseClock();
  public readonly minutes: FleetMinute[] = [];
  /** A recording does not say when a regression began. */
  public readonly regressionStartedAtMinute = null;

  public constructor(lines: readonly RecordingLine[]) {
    for (const line of lines) {
      const phase = this.byPhase.get(line.weight) ?? new Map<number, RecordingLine>();
      phase.set(line.minute, line);
      this.byPhase.set(line.weight, phase);
    }
  }

  public step(minute: number, weight: number): FleetMinute {
    const phaseMinute = this.phases.tick(minute, weight);
    const line = phaseMinute === null ? undefined : this.byPhase.get(weight)?.get(phaseMinute);
    const emitted: EmittedMinute = line === undefined ? NOTHING : { canary: line.canary, baseline: line.baseline };
    const m: FleetMinute = { minute, weight, phaseMinute, emitted, datapoint: datapointOf(emitted, minute) };
    this.minutes.push(m);
    return m;
  }
}

/** The summary of a replay: scenario.md's, with the recording it came from. */
export type ReplaySummary = { readonly recording: string } & SimulationSummary;

export interface ReplayOptions {
  /** The recording's lines, already validated against `config`'s phases (local/recording.ts parseRecording). */
  readonly lines: readonly RecordingLine[];
  /** The recording's name, as the summary reports it. */
  readonly recording: string;
  /** The release manifest; a valid default when absent. */
  readonly manifest?: ReleaseManifest;
  /** The policy the pipeline runs with (policy.md defaults when absent). */
  readonly policy?: Policy;
  /**
   * A bake after 100% (core/bake.ts), read from the recording's 100% lines past the phase's own
   * minutes (the bake keeps 100% of traffic on the released version); none by default.
   */
  readonly bakeMinutes?: number;
  readonly onProgress?: (event: ProgressEvent) => void;
}

/**
 * The pipeline config of a replay: the simulation's, for the manifest's model, with `policy`.
 * Recordings are validated against its phases.
 */
export function replayConfig(options: { manifest?: ReleaseManifest; policy?: Policy; bakeMinutes?: number } = {}): PipelineConfig {
  return simulationConfig({ config: replayConfigInput(options) });
}

function replayConfigInput(options: { manifest?: ReleaseManifest; policy?: Policy; bakeMinutes?: number }): PipelineConfigInput {
  return {
    ...(options.bakeMinutes === undefined ? {} : { bake: { minutes: options.bakeMinutes } }),
    // A recording holds the canary phases only (replay.md): nothing is recorded after a rollback, so
    // the recovery of the restored version cannot be judged from it (it would read as not serving).
    recovery: { minutes: 0 },
    ...(options.manifest === undefined ? {} : { modelName: options.manifest.model }),
    ...(options.policy === undefined ? {} : { policy: options.policy }),
  };
}

/**
 * The scenario a replay runs the deployment steps with: the default scenario's simulated endpoint
 * (a first release when the manifest has no previous version), the manifest with its artifact in the
 * simulated bucket (the digest kept: the simulated upload matches it).
 */
export function replayScenario(recording: string, manifest: ReleaseManifest | undefined, model: string): Scenario {
  const base = BUILTIN_SCENARIOS.find((s) => s.name === DEFAULT_SCENARIO)!;
  const m = manifest ?? defaultManifest({ model });
  const local: ReleaseManifest = { ...m, artifact: { ...m.artifact, uri: `s3://${LOCAL_ARTIFACT_BUCKET}/models/${m.model}/${m.version}/model.tar.gz` } };
  return ScenarioSchema.parse({
    ...base,
    name: 'replay',
    description: `replay of ${recording}`,
    manifest: local,
    deployment: { ...base.deployment, firstRelease: m.previousVersion === null },
  });
}

/**
 * Replays one recording through the pipeline. `atMinute` counts from the first phase's start;
 * `regressionStartedAtMinute` and `detectionMinutes` are null.
 *
 * @example const { summary } = await replay({ lines, recording: 'release.jsonl' });
 */
export async function replay(options: ReplayOptions): Promise<{ summary: ReplaySummary; run: SimulationRun }> {
  const config = replayConfigInput(options);
  const scenario = replayScenario(options.recording, options.manifest, simulationConfig({ config }).modelName);
  const run = await simulate({
    scenario,
    config,
    fleet: new RecordedFleet(options.lines),
    onProgress: options.onProgress,
  });
  const s = run.summary;
  const first = s.audit.find((e) => e.type === 'phase_started');
  const t0 = first === undefined ? 0 : Math.round((Date.parse(first.at) - Date.parse(SIMULATION_EPOCH)) / 60_000);
  const summary: ReplaySummary = {
    recording: options.recording,
    ...s,
    rollback: s.rollback === null ? null : { ...s.rollback, atMinute: s.rollback.atMinute - t0, regressionStartedAtMinute: null, detectionMinutes: null },
  };
  return { summary, run: { ...run, summary } };
}
