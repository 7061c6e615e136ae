/**
 * The release pipeline of one model: composes the constructs of lib/ and publishes the outputs the
 * CLI finds the stack by. No resource is defined here directly.
 *
 * Standalone (no `chain`), the pipeline is one environment. In the environment chain
 * (core/environments.ts, lib/config.ts environmentPipelines) each environment is a stack of its
 * own, usually in its own account, and adds what its place in the chain needs: the hooks step where
 * it has hooks, the rollback drill where it drills; where a next environment exists, the hand-over
 * step and read access for that account to its promoted artifacts; where a previous one exists, its
 * hand-over bus (lib/handover-bus.ts) and the accept step.
 */
import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { canaryTimeoutMinutes, promotionTimeoutMinutes, type PromotionPlan } from '../core/budgets.js';
import { handoverBusName, verificationMinutes, type EnvironmentSettings, type HookStage } from '../core/environments.js';
import { stepsWith } from '../core/steps.js';
import { ArtifactTrigger } from './artifact-trigger.js';
import { AuditLedger } from './audit-ledger.js';
import { CanaryStateMachine } from './canary-state-machine.js';
import { environmentSettings, resourceNames, type EnvironmentPipeline, type PipelineConfig } from './config.js';
import { HandoverBus } from './handover-bus.js';
import { IncidentReminders } from './incident-reminders.js';
import { IncidentTopics } from './incident-topics.js';
import { PipelineAlarms } from './pipeline-alarms.js';
import { CHAIN_HANDLER_NAMES, HANDLER_NAMES, PipelineFunctions, type HandlerName, type UpstreamSource } from './pipeline-functions.js';
import { PromotionStateMachine } from './promotion-state-machine.js';
import { ReleaseDashboard } from './release-dashboard.js';
import { servingSettingsOf, STACK_OUTPUT_KEYS } from '../core/runtime-config.js';
import { RollbackTriggers } from './rollback-triggers.js';

/** Output keys (and, prefixed with `<prefix>-`, export names): a contract with the CLI. */
export const OUTPUT_KEYS = STACK_OUTPUT_KEYS;

/** The export name of an output: `<prefix>-<key>`. */
export function exportName(prefix: string, key: (typeof OUTPUT_KEYS)[keyof typeof OUTPUT_KEYS]): string {
  return `${prefix}-${key}`;
}

/** Outputs of a stack in the environment chain (besides {@link OUTPUT_KEYS}). */
export const CHAIN_OUTPUT_KEYS = {
  /** The hand-over bus of an environment that has a previous one: where that one sends its promotions. */
  handoverBus: 'HandoverBusArn',
} as const;

export interface BuilderBrainReleaseStackProps extends StackProps {
  /** The pipeline's config; with `chain`, the whole chain's (every environment; `chain` is this stack's). */
  readonly config: PipelineConfig;
  /**
   * This stack's environment of the chain (lib/config.ts environmentPipelines): its own pipeline
   * config and its neighbours.
   *
   * @default - a standalone pipeline (one environment: no hooks, no drill, no hand-over)
   */
  readonly chain?: EnvironmentPipeline;
}

/** The chain's steps an environment needs (lib/pipeline-functions.ts CHAIN_HANDLER_NAMES), in registry order. */
export function chainSteps(chain: EnvironmentPipeline | null): HandlerName[] {
  if (chain === null) return [];
  const need: Record<(typeof CHAIN_HANDLER_NAMES)[number], boolean> = {
    'run-hooks': chain.environment.hooks.length > 0,
    drill: chain.environment.rollbackDrill,
    'hand-over': chain.next !== null,
    'accept-handover': chain.previous !== null,
  };
  return CHAIN_HANDLER_NAMES.filter((n) => need[n]);
}

export class BuilderBrainReleaseStack extends Stack {
  /** This stack's own pipeline config (with `chain`, its environment's). */
  public readonly config: PipelineConfig;
  /** This stack's environment of the chain; null for a standalone pipeline. */
  public readonly chain: EnvironmentPipeline | null;
  /** What the handlers are told of the chain (BB_ENVIRONMENT_JSON; tokens for this stack's account, region, partition). */
  public readonly environmentSettings: EnvironmentSettings;
  /** The hand-over bus, where a previous environment exists. */
  public readonly handoverBus: HandoverBus | null = null;

  public constructor(scope: Construct, id: string, props: BuilderBrainReleaseStackProps) {
    super(scope, id, { description: stackDescription(props), ...props });
    this.chain = props.chain ?? null;
    if (this.chain !== null) checkChain(props.config, this.chain);
    const config = (this.config = this.chain?.config ?? props.config);
    this.environmentSettings = environmentSettings(this.chain, props.config, { partition: Aws.PARTITION, account: Aws.ACCOUNT_ID, region: Aws.REGION });
    const key = this.pipelineKey();
    const ledger = new AuditLedger(this, 'AuditLedger', { encryptionKey: key });
    const topics = new IncidentTopics(this, 'Topics', {
      namePrefix: config.prefix,
      encryptionKey: key,
      incidentSubscriptions: config.notifications.incident,
      approvalSubscriptions: config.notifications.approvals,
      pipelineAlarmSubscriptions: config.notifications.pipelineAlarms,
    });
    const fns = this.functions(key, ledger, topics, props.config);
    const artifacts = this.artifacts(key, fns);
    const { canary, promotion } = this.stateMachines(key, fns);
    this.handoverBus = this.receiveHandovers(key, fns);
    const triggers = new RollbackTriggers(this, 'RollbackTriggers', {
      prefix: config.prefix,
      model: config.modelName,
      metricsNamespace: config.metricsNamespace,
      alarmPolicy: config.alarms,
      rollbackFunction: fns.fn('rollback'),
      executionEnded: { fn: fns.fn('execution-ended'), promotionStateMachineArn: promotion.stateMachine.stateMachineArn },
      encryptionKey: key,
      pipelineAlarmsTopic: topics.pipelineAlarmsTopic,
    });
    new IncidentReminders(this, 'IncidentReminders', { incidentsFunction: fns.fn('incidents'), policy: config.incidents, model: config.modelName });
    const dashboard = this.monitoring(fns, topics, artifacts, { promotion: promotion.stateMachine, canary: canary.stateMachine }, triggers);
    this.outputs({ artifacts, ledger, topics, fns, dashboard, machines: { promotion: promotion.stateMachine, canary: canary.stateMachine } });
  }

  /**
   * The plan the machines' timeouts come from: the phases, the approvals, this environment's hooks
   * and drill, its bake and the recovery check.
   */
  private get plan(): PromotionPlan {
    const { config } = this;
    const env = this.chain?.environment ?? null;
    const hotfix = config.hotfixPhases === null ? null : { phases: config.hotfixPhases, ...(env === null ? {} : { verification: verificationMinutes(env, config.hotfixPhases) }) };
    return env === null ? { ...config, hotfix } : { ...config, verification: verificationMinutes(env, config.phases), hotfix };
  }

  /** Whether this environment has hooks of `stage`. */
  private hasHooks(stage: HookStage): boolean {
    return this.environmentSettings.hooks.some((h) => h.stage === stage);
  }

  /** One customer key for the pipeline's data (artifacts, ledger, topics, queues, logs). */
  private pipelineKey(): kms.Key {
    return new kms.Key(this, 'Key', {
      alias: `alias/${this.config.prefix}-release`,
      description: `BuilderBrain release pipeline (${this.config.modelName})`,
      enableKeyRotation: true,
      // Kept when the stack is deleted; removed again when the stack's first creation fails.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
  }

  /** The step functions (core/steps.ts), configured from the pipeline config. */
  private functions(key: kms.IKey, ledger: AuditLedger, topics: IncidentTopics, pipeline: PipelineConfig): PipelineFunctions {
    const { config } = this;
    const names = resourceNames(config);
    return new PipelineFunctions(this, 'Functions', {
      steps: [...HANDLER_NAMES, ...chainSteps(this.chain)],
      environment: this.environmentSettings,
      upstream: this.upstream(pipeline),
      model: config.modelName,
      router: config.router,
      gatePolicy: config.policy.gates,
      canaryPolicy: config.policy.canary,
      metricsNamespace: config.metricsNamespace,
      serving: servingSettingsOf(config.router, config.deployment),
      // The environment's own bake (lib/config.ts environmentPipelines: only the last bakes by default).
      bake: config.bake,
      recovery: config.recovery,
      incidents: config.incidents,
      alarmWarmup: { minutes: config.policy.canary.warmupMinutes, evaluationMinutes: config.alarms.evaluationPeriods },
      ledger,
      topics,
      promotionStateMachineName: names.promotionStateMachine,
      canaryStateMachineName: names.canaryStateMachine,
      encryptionKey: key,
      logRetention: this.logRetention,
      rollbackReservedConcurrency: config.functions.rollbackReservedConcurrency ?? undefined,
    });
  }

  /** The artifact bucket and its trigger; the steps that read artifacts get the bucket. */
  private artifacts(key: kms.IKey, fns: PipelineFunctions): ArtifactTrigger {
    const { config } = this;
    const artifacts = new ArtifactTrigger(this, 'Artifacts', {
      intakeFunction: fns.fn('intake'),
      encryptionKey: key,
      noncurrentVersionExpiration: Duration.days(config.retention.artifactNoncurrentVersionDays),
    });
    for (const name of stepsWith('readsArtifacts').filter((n) => fns.has(n))) artifacts.grantReadManifests(fns.fn(name));
    // The accept step writes what it copied from the previous environment, and the release.json that starts the release.
    for (const name of stepsWith('copiesUpstream').filter((n) => fns.has(n))) artifacts.grantWriteModel(fns.fn(name), config.modelName);
    // The recovery step writes the post-rollback analysis under analysis/ (core/app/post-rollback-analysis.ts).
    for (const name of stepsWith('writesAnalysis').filter((n) => fns.has(n))) artifacts.grantWriteAnalysis(fns.fn(name));
    fns.provideEnvironment('artifactBucket', artifacts.bucket.bucketName);
    const next = this.chain?.next ?? null;
    // The next environment copies what this one promoted. In a chain in one account (no account
    // named, or the same one) its role's IAM policy suffices: the bucket policy need not name this
    // very account, and the key policy already lets this account's IAM policies grant the key.
    if (next !== null && next.account !== null && next.account !== (this.chain?.environment.account ?? null)) {
      artifacts.grantReadToAccount(next.account, config.modelName);
    }
    if (config.router.kind === 'sagemaker' && config.deployment.sagemaker !== undefined) {
      artifacts.grantReadToRole(config.deployment.sagemaker.executionRoleArn);
    }
    return artifacts;
  }

  /** The canary machine, and the promotion machine that runs it and bakes; their timeouts from core/budgets.ts. */
  private stateMachines(key: kms.IKey, fns: PipelineFunctions): { canary: CanaryStateMachine; promotion: PromotionStateMachine } {
    const { config } = this;
    const names = resourceNames(config);
    const canary = new CanaryStateMachine(this, 'Canary', {
      stateMachineName: names.canaryStateMachine,
      startPhaseFunction: fns.fn('start-phase'),
      analyzeCanaryFunction: fns.fn('analyze-canary'),
      requestApprovalFunction: fns.fn('request-approval'),
      promoteFunction: fns.fn('promote'),
      rollbackFunction: fns.fn('rollback'),
      approvalTimeout: Duration.minutes(config.approvalTimeoutMinutes),
      runHooksFunction: fns.tryFn('run-hooks'),
      duringPhaseHooks: this.hasHooks('during_phase'),
      afterPhaseHooks: this.hasHooks('after_phase'),
      drillFunction: fns.tryFn('drill'),
      timeout: Duration.minutes(canaryTimeoutMinutes(this.plan)),
      encryptionKey: key,
      logRetention: this.logRetention,
    });
    const promotion = new PromotionStateMachine(this, 'Promotion', {
      stateMachineName: names.promotionStateMachine,
      validateManifestFunction: fns.fn('validate-manifest'),
      releaseLockFunction: fns.fn('release-lock'),
      runGatesFunction: fns.fn('run-gates'),
      rejectReleaseFunction: fns.fn('reject-release'),
      rollbackFunction: fns.fn('rollback'),
      verifyArtifactFunction: fns.fn('verify-artifact'),
      servingFunction: fns.fn('serving'),
      bakeFunction: fns.fn('bake'),
      recoveryFunction: fns.fn('recovery'),
      smokeSamples: config.deployment.smoke,
      runHooksFunction: fns.tryFn('run-hooks'),
      beforeTrafficHooks: this.hasHooks('before_traffic'),
      handOverFunction: fns.tryFn('hand-over'),
      canaryStateMachine: canary.stateMachine,
      phases: config.phases,
      hotfixPhases: config.hotfixPhases,
      maxLooksPerPhase: config.maxLooksPerPhase,
      timeout: Duration.minutes(promotionTimeoutMinutes(this.plan, config.deployment)),
      encryptionKey: key,
      logRetention: this.logRetention,
    });
    return { canary, promotion };
  }

  /** Pipeline-health alarms and the release dashboard. */
  private monitoring(fns: PipelineFunctions, topics: IncidentTopics, artifacts: ArtifactTrigger, machines: PipelineMachines, triggers: RollbackTriggers): ReleaseDashboard {
    const { config } = this;
    new PipelineAlarms(this, 'PipelineAlarms', {
      prefix: config.prefix,
      topic: topics.pipelineAlarmsTopic,
      stateMachines: machines,
      functions: fns.functions,
      deadLetterQueues: {
        intake: artifacts.deadLetterQueue,
        ...(this.handoverBus === null ? {} : { handover: this.handoverBus.deadLetterQueue }),
      },
    });
    return new ReleaseDashboard(this, 'Dashboard', {
      dashboardName: resourceNames(config).dashboard,
      model: config.modelName,
      metricsNamespace: config.metricsNamespace,
      canaryAlarms: Object.values(triggers.alarms),
      stateMachines: machines,
      functions: fns.functions,
    });
  }

  /** The outputs the CLI finds the stack by (a contract: core/runtime-config.ts STACK_OUTPUT_KEYS). */
  private outputs(r: { artifacts: ArtifactTrigger; ledger: AuditLedger; topics: IncidentTopics; fns: PipelineFunctions; dashboard: ReleaseDashboard; machines: PipelineMachines }): void {
    const output = (key: (typeof OUTPUT_KEYS)[keyof typeof OUTPUT_KEYS], value: string, description: string) =>
      new CfnOutput(this, key, { value, description, exportName: exportName(this.config.prefix, key) });
    output(OUTPUT_KEYS.model, this.config.modelName, 'The model this pipeline releases');
    output(OUTPUT_KEYS.bucket, r.artifacts.bucket.bucketName, 'Upload models/<model>/<version>/release.json here to start a release');
    output(OUTPUT_KEYS.table, r.ledger.table.tableName, 'Audit ledger and release lock');
    output(OUTPUT_KEYS.promotion, r.machines.promotion.stateMachineArn, 'Promotion state machine');
    output(OUTPUT_KEYS.canary, r.machines.canary.stateMachineArn, 'Canary state machine');
    output(OUTPUT_KEYS.incidentTopic, r.topics.incidentTopic.topicArn, 'Incidents (message attribute severity = P0..P3)');
    output(OUTPUT_KEYS.approvalsTopic, r.topics.approvalsTopic.topicArn, 'Approval requests');
    output(OUTPUT_KEYS.pipelineAlarmsTopic, r.topics.pipelineAlarmsTopic.topicArn, 'Pipeline-health alarms (unfiltered)');
    output(OUTPUT_KEYS.rollbackFunction, r.fns.fn('rollback').functionName, 'Rollback function (operators invoke it through the CLI)');
    output(OUTPUT_KEYS.incidentFunction, r.fns.fn('incidents').functionName, 'Incidents function (the CLI acknowledges, resolves and closes incidents through it)');
    output(OUTPUT_KEYS.dashboard, r.dashboard.dashboard.dashboardName, 'CloudWatch dashboard');
    if (this.handoverBus !== null) {
      new CfnOutput(this, CHAIN_OUTPUT_KEYS.handoverBus, {
        value: this.handoverBus.bus.eventBusArn,
        description: `Hand-over bus: ${this.chain?.previous?.name ?? 'the previous environment'} sends its promotions here`,
        exportName: `${this.config.prefix}-${CHAIN_OUTPUT_KEYS.handoverBus}`,
      });
    }
  }

  /** The previous environment, whose promoted artifacts accept-handover copies: its account and region. */
  private upstream(pipeline: PipelineConfig): UpstreamSource | undefined {
    const previous = this.environmentSettings.previous;
    if (this.chain === null || previous === null || previous.account === null) return undefined;
    return { account: previous.account, region: pipeline.environments[this.chain.index - 1]?.region ?? this.region };
  }

  /** Where a previous environment exists: the hand-over bus, its rule and the accept step behind it. */
  private receiveHandovers(key: kms.IKey, fns: PipelineFunctions): HandoverBus | null {
    const previous = this.environmentSettings.previous;
    if (this.chain === null || previous === null) return null;
    return new HandoverBus(this, 'Handover', {
      eventBusName: handoverBusName(this.config.prefix),
      model: this.config.modelName,
      environment: this.chain.environment.name,
      // In a chain in one account, environmentSettings names this account (Aws.ACCOUNT_ID).
      previous: { name: previous.name, account: previous.account ?? Aws.ACCOUNT_ID },
      acceptFunction: fns.fn('accept-handover'),
      encryptionKey: key,
    });
  }

  private get logRetention(): logs.RetentionDays {
    return this.config.retention.logRetentionDays as logs.RetentionDays;
  }
}

/** The standalone description is today's; an environment's names its place in the chain. */
function stackDescription(props: BuilderBrainReleaseStackProps): string {
  const base = `BuilderBrain release pipeline for model ${props.config.modelName}`;
  const c = props.chain;
  return c === undefined ? base : `${base}, environment ${c.environment.name} (${c.index + 1} of ${props.config.environments.length})`;
}

/** `chain` must be an environment of `config` (the whole chain's config, not the environment's own). */
function checkChain(config: PipelineConfig, chain: EnvironmentPipeline): void {
  const own = config.environments[chain.index];
  if (own?.name !== chain.environment.name || chain.config.environments.length !== 1) {
    throw new Error(
      `BuilderBrainReleaseStack: chain ${chain.environment.name} is not environment ${chain.index} of the config (${config.environments.map((e) => e.name).join(', ')}): pass the pipeline's whole config with one of environmentPipelines(config)`,
    );
  }
}

type PipelineMachines = { readonly promotion: sfn.StateMachine; readonly canary: sfn.StateMachine };
