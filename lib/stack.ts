/**
 * The release pipeline of one model: composes the constructs of lib/ and publishes the outputs the
 * CLI finds the stack by. No resource is defined here directly.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { canaryTimeoutMinutes, promotionTimeoutMinutes } from '../core/budgets.js';
import { stepsWith } from '../core/steps.js';
import { ArtifactTrigger } from './artifact-trigger.js';
import { AuditLedger } from './audit-ledger.js';
import { CanaryStateMachine } from './canary-state-machine.js';
import { resourceNames, type PipelineConfig } from './config.js';
import { IncidentTopics } from './incident-topics.js';
import { PipelineAlarms } from './pipeline-alarms.js';
import { PipelineFunctions } from './pipeline-functions.js';
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

export interface BuilderBrainReleaseStackProps extends StackProps {
  readonly config: PipelineConfig;
}

export class BuilderBrainReleaseStack extends Stack {
  public readonly config: PipelineConfig;

  public constructor(scope: Construct, id: string, props: BuilderBrainReleaseStackProps) {
    super(scope, id, { description: `BuilderBrain release pipeline for model ${props.config.modelName}`, ...props });
    const config = (this.config = props.config);
    const key = this.pipelineKey();
    const ledger = new AuditLedger(this, 'AuditLedger', { encryptionKey: key });
    const topics = new IncidentTopics(this, 'Topics', {
      namePrefix: config.prefix,
      encryptionKey: key,
      incidentSubscriptions: config.notifications.incident,
      approvalSubscriptions: config.notifications.approvals,
      pipelineAlarmSubscriptions: config.notifications.pipelineAlarms,
    });
    const fns = this.functions(key, ledger, topics);
    const artifacts = this.artifacts(key, fns);
    const { canary, promotion } = this.stateMachines(key, fns);
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
    const dashboard = this.monitoring(fns, topics, artifacts, { promotion: promotion.stateMachine, canary: canary.stateMachine }, triggers);
    this.outputs({ artifacts, ledger, topics, fns, dashboard, machines: { promotion: promotion.stateMachine, canary: canary.stateMachine } });
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
  private functions(key: kms.IKey, ledger: AuditLedger, topics: IncidentTopics): PipelineFunctions {
    const { config } = this;
    const names = resourceNames(config);
    return new PipelineFunctions(this, 'Functions', {
      model: config.modelName,
      router: config.router,
      gatePolicy: config.policy.gates,
      canaryPolicy: config.policy.canary,
      metricsNamespace: config.metricsNamespace,
      serving: servingSettingsOf(config.router, config.deployment),
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
    for (const name of stepsWith('readsArtifacts')) artifacts.grantReadManifests(fns.fn(name));
    fns.provideEnvironment('artifactBucket', artifacts.bucket.bucketName);
    if (config.router.kind === 'sagemaker' && config.deployment.sagemaker !== undefined) {
      artifacts.grantReadToRole(config.deployment.sagemaker.executionRoleArn);
    }
    return artifacts;
  }

  /** The canary machine, and the promotion machine that runs it; their timeouts from core/budgets.ts. */
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
      timeout: Duration.minutes(canaryTimeoutMinutes(config)),
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
      smokeSamples: config.deployment.smoke,
      canaryStateMachine: canary.stateMachine,
      phases: config.phases,
      maxLooksPerPhase: config.maxLooksPerPhase,
      timeout: Duration.minutes(promotionTimeoutMinutes(config, config.deployment)),
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
      deadLetterQueues: { intake: artifacts.deadLetterQueue },
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
    output(OUTPUT_KEYS.dashboard, r.dashboard.dashboard.dashboardName, 'CloudWatch dashboard');
  }

  private get logRetention(): logs.RetentionDays {
    return this.config.retention.logRetentionDays as logs.RetentionDays;
  }
}

type PipelineMachines = { readonly promotion: sfn.StateMachine; readonly canary: sfn.StateMachine };
