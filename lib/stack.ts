/**
 * The release pipeline of one model: composes the constructs of lib/ and publishes the outputs the
 * CLI finds the stack by. No resource is defined here directly.
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { ArtifactTrigger } from './artifact-trigger.js';
import { AuditLedger } from './audit-ledger.js';
import { CanaryStateMachine } from './canary-state-machine.js';
import { canaryTimeoutMinutes, resourceNames, type PipelineConfig } from './config.js';
import { IncidentTopics } from './incident-topics.js';
import { PipelineAlarms } from './pipeline-alarms.js';
import { PipelineFunctions } from './pipeline-functions.js';
import { PromotionStateMachine } from './promotion-state-machine.js';
import { ReleaseDashboard } from './release-dashboard.js';
import { ENV, servingSettingsOf, STACK_OUTPUT_KEYS } from '../core/runtime-config.js';
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
    const names = resourceNames(config);
    const logRetention = config.retention.logRetentionDays as logs.RetentionDays;

    // One customer key for the pipeline's data (artifacts, ledger, topics, queues, logs).
    const key = new kms.Key(this, 'Key', {
      alias: `alias/${config.prefix}-release`,
      description: `BuilderBrain release pipeline (${config.modelName})`,
      enableKeyRotation: true,
      // Kept when the stack is deleted; removed again when the stack's first creation fails.
      removalPolicy: RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });

    const ledger = new AuditLedger(this, 'AuditLedger', { encryptionKey: key });
    const topics = new IncidentTopics(this, 'Topics', {
      namePrefix: config.prefix,
      encryptionKey: key,
      incidentSubscriptions: config.notifications.incident,
      approvalSubscriptions: config.notifications.approvals,
      pipelineAlarmSubscriptions: config.notifications.pipelineAlarms,
    });
    const fns = new PipelineFunctions(this, 'Functions', {
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
      logRetention,
      rollbackReservedConcurrency: config.functions.rollbackReservedConcurrency ?? undefined,
    });
    const artifacts = new ArtifactTrigger(this, 'Artifacts', {
      intakeFunction: fns.fn('intake'),
      encryptionKey: key,
      noncurrentVersionExpiration: Duration.days(config.retention.artifactNoncurrentVersionDays),
    });
    artifacts.grantReadManifests(fns.fn('validate-manifest'));
    artifacts.grantReadManifests(fns.fn('verify-artifact'));
    fns.fn('verify-artifact').addEnvironment(ENV.artifactBucket, artifacts.bucket.bucketName);
    if (config.router.kind === 'sagemaker' && config.deployment.sagemaker !== undefined) {
      artifacts.grantReadToRole(config.deployment.sagemaker.executionRoleArn);
    }

    const canaryTimeout = Duration.minutes(canaryTimeoutMinutes(config));
    const canary = new CanaryStateMachine(this, 'Canary', {
      stateMachineName: names.canaryStateMachine,
      startPhaseFunction: fns.fn('start-phase'),
      analyzeCanaryFunction: fns.fn('analyze-canary'),
      requestApprovalFunction: fns.fn('request-approval'),
      promoteFunction: fns.fn('promote'),
      rollbackFunction: fns.fn('rollback'),
      approvalTimeout: Duration.minutes(config.approvalTimeoutMinutes),
      timeout: canaryTimeout,
      encryptionKey: key,
      logRetention,
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
      // The canary, plus deploying, converging (after the bake period) or removing, each within its timeout, plus slack.
      timeout: canaryTimeout.plus(Duration.minutes(3 * config.deployment.timeoutMinutes + config.deployment.bakeMinutes + 120)),
      encryptionKey: key,
      logRetention,
    });

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
    const machines = { promotion: promotion.stateMachine, canary: canary.stateMachine };
    new PipelineAlarms(this, 'PipelineAlarms', {
      prefix: config.prefix,
      topic: topics.pipelineAlarmsTopic,
      stateMachines: machines,
      functions: fns.functions,
      deadLetterQueues: { intake: artifacts.deadLetterQueue },
    });
    const dashboard = new ReleaseDashboard(this, 'Dashboard', {
      dashboardName: names.dashboard,
      model: config.modelName,
      metricsNamespace: config.metricsNamespace,
      canaryAlarms: Object.values(triggers.alarms),
      stateMachines: machines,
      functions: fns.functions,
    });

    const output = (key: (typeof OUTPUT_KEYS)[keyof typeof OUTPUT_KEYS], value: string, description: string) =>
      new CfnOutput(this, key, { value, description, exportName: exportName(config.prefix, key) });
    output(OUTPUT_KEYS.model, config.modelName, 'The model this pipeline releases');
    output(OUTPUT_KEYS.bucket, artifacts.bucket.bucketName, 'Upload models/<model>/<version>/release.json here to start a release');
    output(OUTPUT_KEYS.table, ledger.table.tableName, 'Audit ledger and release lock');
    output(OUTPUT_KEYS.promotion, promotion.stateMachine.stateMachineArn, 'Promotion state machine');
    output(OUTPUT_KEYS.canary, canary.stateMachine.stateMachineArn, 'Canary state machine');
    output(OUTPUT_KEYS.incidentTopic, topics.incidentTopic.topicArn, 'Incidents (message attribute severity = P0..P3)');
    output(OUTPUT_KEYS.approvalsTopic, topics.approvalsTopic.topicArn, 'Approval requests');
    output(OUTPUT_KEYS.pipelineAlarmsTopic, topics.pipelineAlarmsTopic.topicArn, 'Pipeline-health alarms (unfiltered)');
    output(OUTPUT_KEYS.rollbackFunction, fns.fn('rollback').functionName, 'Rollback function (operators invoke it through the CLI)');
    output(OUTPUT_KEYS.dashboard, dashboard.dashboard.dashboardName, 'CloudWatch dashboard');
  }
}
