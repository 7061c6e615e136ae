/**
 * The simulated world the embedded runtime's executions run in: a virtual clock, the simulated
 * SageMaker endpoint (serving target and traffic router), the fleet serving traffic minute by
 * minute, the metric store CloudWatch would answer from, and the CloudWatch alarm rules. Time moves
 * only when asked ({@link SimulatedWorld.advanceTo}); every simulated minute the fleet's datapoints
 * are stored and the alarms evaluated, and an alarm going to ALARM is handed to {@link AlarmHooks}
 * (the runtime delivers its EventBridge event to the rollback handler, as deployed).
 */
import { alarmRules, alarmState, type AlarmRule } from '../core/alarms.js';
import { canaryAlarmName, servingSettingsOf } from '../core/runtime-config.js';
import type { PipelineConfig } from '../lib/config.js';
import { hasData } from './cloudwatch.js';
import { SimulatedEndpoint } from './endpoint.js';
import { SimulatedFleet, periodValues, type FleetPort } from './fleet.js';
import { ManualClock, MemoryMetricsSource, type RouterOperation } from './memory.js';
import type { Scenario } from './scenario.js';
import { statesError } from './states-error.js';

export const MINUTE_MS = 60_000;
/** Virtual time of a simulation's start: fixed, so runs are reproducible byte for byte. */
export const SIMULATION_EPOCH = '2026-01-05T09:00:00.000Z';

/** What serves when the config names no SageMaker serving (the simulation never calls AWS). */
export const LOCAL_SERVING = {
  image: '000000000000.dkr.ecr.us-east-1.amazonaws.com/builderbrain-serving:local',
  executionRoleArn: 'arn:aws:iam::000000000000:role/builderbrain-serving-local',
  instanceType: 'ml.g5.xlarge',
  instanceCount: 2,
} as const;

/** The serving settings a simulation runs with: the config's, with a local SageMaker serving when it has none. */
export function localServingSettings(config: PipelineConfig) {
  // The simulator simulates a SageMaker endpoint whatever the router: a Lambda-alias config is run on it too.
  const router = config.router.kind === 'sagemaker' ? config.router : { kind: 'sagemaker' as const, endpointName: 'builderbrain', baselineVariant: 'baseline', canaryVariant: 'canary' };
  const settings = servingSettingsOf(router, config.deployment);
  if (settings.plan.kind !== 'sagemaker') throw new Error('embedded runtime: the simulated endpoint needs a SageMaker plan');
  return { ...settings, plan: { ...settings.plan, serving: settings.plan.serving ?? { ...LOCAL_SERVING, allowedInstanceTypes: [], environment: {} } } };
}

/** What happens when an alarm goes to ALARM. */
export interface AlarmHooks {
  /** The alarm went to ALARM (observers: the progress). */
  raised(alarmName: string, rule: AlarmRule): void;
  /** Delivers its EventBridge event to the alarm's target; the minute goes on once the target has answered. */
  deliver(event: unknown): Promise<unknown>;
  /** What the target answered. */
  answered(result: unknown): void;
}

export interface WorldOptions {
  readonly config: PipelineConfig;
  readonly scenario: Scenario;
  /** What serves traffic each minute: the scenario's simulated fleet by default, a recording in a replay. */
  readonly fleet?: FleetPort;
  /** Make the router fail these operations (e.g. restoreBaseline: the rollback itself fails). */
  readonly routerFailures?: readonly RouterOperation[];
  readonly alarms: AlarmHooks;
  /** Virtual time the world starts at (default {@link SIMULATION_EPOCH}); a chain's next environment starts where the previous one ended. */
  readonly startAt?: string;
  /** Called after each simulated minute (the runtime's schedules: the incidents' reminder rule). */
  readonly onMinute?: () => Promise<void>;
}

export class SimulatedWorld {
  public readonly clock: ManualClock;
  /** Virtual time this world started at: minute 0. */
  public readonly epoch: string;
  /** The simulated SageMaker endpoint: the pipeline's serving target and traffic router. */
  public readonly endpoint: SimulatedEndpoint;
  public readonly metrics = new MemoryMetricsSource();
  public readonly fleet: FleetPort;
  /** Alarm state changes to ALARM, by minute. */
  public readonly alarmsFired: { minute: number; alarmName: string }[] = [];
  public readonly servingSettings: ReturnType<typeof localServingSettings>;
  private readonly rules: AlarmRule[];
  private readonly alarmHistory = new Map<string, number[]>();
  private readonly alarmStates = new Map<string, 'OK' | 'ALARM'>();

  public constructor(private readonly options: WorldOptions) {
    this.epoch = options.startAt ?? SIMULATION_EPOCH;
    this.clock = new ManualClock(this.epoch);
    this.servingSettings = localServingSettings(options.config);
    this.endpoint = this.createEndpoint();
    this.fleet = options.fleet ?? new SimulatedFleet(options.scenario);
    this.rules = alarmRules(options.config.alarms);
  }

  private createEndpoint(): SimulatedEndpoint {
    const failures = new Set(this.options.routerFailures ?? []);
    const d = this.options.scenario.deployment;
    const { plan } = this.servingSettings;
    return new SimulatedEndpoint({
      endpointName: plan.endpointName,
      baselineVariant: plan.baselineVariant,
      canaryVariant: plan.canaryVariant,
      image: plan.serving.image,
      clock: this.clock,
      provisionMinutes: d.provisionMinutes,
      deployFailure: d.failure,
      smoke: d.smoke,
      initialModel: d.firstRelease ? null : `${plan.endpointName}-baseline-model`,
      instanceType: plan.serving.instanceType,
      fail: (op) => (failures.has(op) ? statesError('ServiceUnavailable', `traffic router: ${op} failed (injected)`) : undefined),
    });
  }

  /** Minutes of virtual time since the simulation started. */
  public get minute(): number {
    return Math.round((this.clock.now().getTime() - new Date(this.epoch).getTime()) / MINUTE_MS);
  }

  /** The candidate's weight in the last minute served. */
  public get currentWeight(): number {
    const last = this.fleet.minutes[this.fleet.minutes.length - 1];
    return last?.weight ?? 0;
  }

  /** Simulates minute after minute until `target` (ms), or until `stopped` says so. */
  public async advanceTo(target: number, stopped?: () => boolean): Promise<void> {
    while (this.clock.now().getTime() < target) {
      if (stopped?.() === true) return;
      await this.simulateMinute();
    }
  }

  /** The Wait before a monitor look (SecondsPath `$.phase.lookEverySeconds`): to the look's due time. */
  public async advanceToLook(payload: unknown, stopped: () => boolean): Promise<void> {
    const phase = (payload as { phase?: { startedAt?: string; iteration?: number; lookEverySeconds?: number } }).phase;
    if (phase?.startedAt === undefined || phase.iteration === undefined || phase.lookEverySeconds === undefined) return;
    const due = new Date(phase.startedAt).getTime() + (phase.iteration + 1) * phase.lookEverySeconds * 1000;
    await this.advanceTo(due, stopped);
  }

  /** A serving loop's Wait (TimestampPath `$.serving.nextCheckAt`): the bake period, provisioning. */
  public async advanceToServingCheck(payload: unknown, stopped: () => boolean): Promise<void> {
    const p = payload as { action?: string; progress?: { nextCheckAt?: string } };
    if ((p.action !== 'apply' && p.action !== 'check') || p.progress?.nextCheckAt === undefined) return;
    await this.advanceTo(new Date(p.progress.nextCheckAt).getTime(), stopped);
  }

  /** The drill's Wait (SecondsPath `$.drill.waitSeconds`): the baseline serves alone for the drill minutes before the verdict. */
  public async advanceToDrillVerdict(payload: unknown, drillMinutes: number | null, stopped: () => boolean): Promise<void> {
    const p = payload as { action?: string; drill?: { startedAt?: string } };
    if (p.action !== 'verify' || p.drill?.startedAt === undefined || drillMinutes === null) return;
    await this.advanceTo(new Date(p.drill.startedAt).getTime() + drillMinutes * MINUTE_MS, stopped);
  }

  /**
   * A bake look (the Wait's SecondsPath `$.bake.lookEverySeconds`): to the look's due time. The
   * first look also backfills the reference windows (the previous version a day and a week before),
   * which a simulation that starts at its epoch has not served ({@link backfillReference}).
   */
  public async advanceToBakeLook(payload: unknown, stopped: () => boolean): Promise<void> {
    const p = payload as { action?: string; bake?: { startedAt?: string; endsAt?: string; iteration?: number; lookEverySeconds?: number } };
    if (p.action !== 'watch' || p.bake?.startedAt === undefined || p.bake.iteration === undefined || p.bake.lookEverySeconds === undefined) return;
    const start = new Date(p.bake.startedAt).getTime();
    if (p.bake.iteration === 0 && p.bake.endsAt !== undefined) this.backfillReference(start, new Date(p.bake.endsAt).getTime());
    await this.advanceTo(start + (p.bake.iteration + 1) * p.bake.lookEverySeconds * 1000, stopped);
  }

  /** The recovery check (TimestampPath `$.recovery.checkAt`): the recovery window after the rollback. */
  public async advanceToRecoveryCheck(payload: unknown, stopped: () => boolean): Promise<void> {
    const p = payload as { action?: string; recovery?: { checkAt?: string } };
    if (p.action !== 'verify' || p.recovery?.checkAt === undefined) return;
    await this.advanceTo(new Date(p.recovery.checkAt).getTime(), stopped);
  }

  /**
   * The previous version's own minutes a day and a week before the bake window [from, to), where
   * the metric store has none: the scenario's baseline on a fleet of its own (same seed, no
   * candidate), as it served then. What a real CloudWatch would answer from the days before.
   */
  public backfillReference(from: number, to: number): void {
    const model = this.options.config.modelName;
    for (const offset of [24 * 60, 7 * 24 * 60]) {
      const reference = new SimulatedFleet({ ...this.options.scenario, candidate: { ...this.options.scenario.baseline, events: [] } });
      for (let t = from - offset * MINUTE_MS; t < to - offset * MINUTE_MS; t += MINUTE_MS) {
        if (this.metrics.has(model, new Date(t))) continue;
        const m = reference.step(Math.round((t - new Date(this.epoch).getTime()) / MINUTE_MS), 0);
        if (hasData(m.emitted)) this.metrics.put(model, new Date(t), m.datapoint, m.emitted);
      }
    }
  }

  /**
   * One minute of traffic: what the fleet emitted, as CloudWatch computes it, into the metric store
   * (a minute without data stays a gap), then the alarms' evaluation (missing data not breaching).
   */
  public async simulateMinute(): Promise<void> {
    const model = this.options.config.modelName;
    const at = this.clock.now();
    const { candidate } = await this.endpoint.current(model);
    const m = this.fleet.step(this.minute, candidate);
    if (hasData(m.emitted)) this.metrics.put(model, at, m.datapoint, m.emitted);
    this.clock.advance(MINUTE_MS);
    if (candidate > 0) await this.evaluateAlarms(periodValues(m.datapoint));
    await this.options.onMinute?.();
  }

  private async evaluateAlarms(values: ReturnType<typeof periodValues>): Promise<void> {
    const c = this.options.config;
    const hooks = this.options.alarms;
    for (const rule of this.rules) {
      const alarmName = canaryAlarmName(c.prefix, c.modelName, rule.suffix);
      const history = this.alarmHistory.get(alarmName) ?? [];
      history.push(rule.evaluate(values));
      this.alarmHistory.set(alarmName, history.slice(-rule.evaluationPeriods));
      const state = alarmState(rule, history);
      const previous = this.alarmStates.get(alarmName) ?? 'OK';
      this.alarmStates.set(alarmName, state);
      if (state === 'ALARM' && previous !== 'ALARM') {
        this.alarmsFired.push({ minute: this.minute, alarmName });
        hooks.raised(alarmName, rule);
        hooks.answered(await hooks.deliver(alarmStateChangeEvent(alarmName, rule, this.clock.now())));
      }
    }
  }
}

/** The EventBridge event CloudWatch sends when an alarm goes to ALARM. */
export function alarmStateChangeEvent(alarmName: string, rule: AlarmRule, at: Date): unknown {
  return {
    version: '0',
    id: `local-alarm-${alarmName}-${at.getTime()}`,
    'detail-type': 'CloudWatch Alarm State Change',
    source: 'aws.cloudwatch',
    account: '000000000000',
    time: at.toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:cloudwatch:us-east-1:000000000000:alarm:${alarmName}`],
    detail: {
      alarmName,
      state: {
        value: 'ALARM',
        reason: `Threshold Crossed: ${rule.datapointsToAlarm} out of the last ${rule.evaluationPeriods} datapoints were greater than the threshold (${rule.threshold}): ${rule.description}`,
        timestamp: at.toISOString(),
      },
      previousState: { value: 'OK', reason: '', timestamp: at.toISOString() },
      configuration: { description: rule.description },
    },
  };
}
