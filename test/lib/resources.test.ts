/**
 * Template assertions on every resource of the stack and its wiring (state machine definitions and
 * IAM have their own files).
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { alarmRules, DEFAULT_ALARM_POLICY, METRIC_IDS, type MetricId } from '../../core/alarms.js';
import { CANARY_ALARMS, canaryAlarmName, ENV, METRIC_NAMES, ServingSettingsSchema, servingSettingsOf } from '../../core/runtime-config.js';
import { HANDLER_NAMES, HANDLER_SPECS } from '../../lib/pipeline-functions.js';
import { exportName, OUTPUT_KEYS } from '../../lib/stack.js';
import { resourcesOf, synth, type Synthesized } from './fixture.js';

let s: Synthesized;
beforeAll(() => {
  s = synth({
    notifications: {
      incident: [
        { protocol: 'email', endpoint: 'oncall@example.com', severities: ['P0', 'P1'] },
        { protocol: 'https', endpoint: 'https://hooks.example.com/incidents', severities: ['P0', 'P1', 'P2', 'P3'] },
      ],
      approvals: [{ protocol: 'email', endpoint: 'approvers@example.com' }],
      pipelineAlarms: [{ protocol: 'https', endpoint: 'https://pager.example.com/hook' }],
    },
  });
});

const CANARY_ALARM_NAMES = (Object.keys(CANARY_ALARMS) as (keyof typeof CANARY_ALARMS)[]).map((k) => canaryAlarmName('builderbrain', 'builderbrain', k));
const ref = (id: string) => ({ Ref: id });
const arnOf = (id: string) => ({ 'Fn::GetAtt': [id, 'Arn'] });
const onlyId = (list: [string, unknown][]) => {
  expect(list).toHaveLength(1);
  return list[0]![0];
};

describe('customer-managed key', () => {
  it('is one rotating key, retained (except when the first creation fails), that CloudWatch Logs, alarms and EventBridge may use for this account', () => {
    s.template.resourceCountIs('AWS::KMS::Key', 1);
    s.template.hasResource('AWS::KMS::Key', {
      DeletionPolicy: 'RetainExceptOnCreate',
      Properties: {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({ Sid: 'AllowCloudWatchAlarms', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey'] }),
            Match.objectLike({ Sid: 'AllowCloudWatchLogs', Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } } }),
            Match.objectLike({
              Sid: 'AllowEventBridge',
              Principal: { Service: 'events.amazonaws.com' },
              Condition: { StringEquals: { 'aws:SourceAccount': ref('AWS::AccountId') }, ArnLike: { 'aws:SourceArn': Match.anyValue() } },
            }),
          ]),
        },
      },
    });
  });
});

describe('ArtifactTrigger', () => {
  it('the artifact bucket is versioned, KMS-encrypted with the key, private, logged, EventBridge-enabled and retained (except when the first creation fails)', () => {
    const keyId = onlyId(resourcesOf(s.json, 'AWS::KMS::Key'));
    s.template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'RetainExceptOnCreate',
      Properties: {
        VersioningConfiguration: { Status: 'Enabled' },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { BucketKeyEnabled: true, ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: arnOf(keyId) } },
          ],
        },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        LoggingConfiguration: { DestinationBucketName: Match.anyValue(), LogFilePrefix: 'artifact-bucket/' },
        NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
      },
    });
  });

  it('both buckets deny non-TLS requests and TLS below 1.2', () => {
    const policies = resourcesOf(s.json, 'AWS::S3::BucketPolicy');
    expect(policies).toHaveLength(2);
    for (const [, p] of policies) {
      expect(p.Properties!['PolicyDocument'].Statement).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      );
    }
    s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { NumericLessThan: { 's3:TlsVersion': 1.2 } } })]),
      },
    });
  });

  it('does not add the bucket-notifications custom resource', () => {
    s.template.resourceCountIs('Custom::S3BucketNotifications', 0);
  });

  it('routes "Object Created" of models/*/release.json in this bucket to the intake, with retries and a DLQ', () => {
    const bucketId = resourcesOf(s.json, 'AWS::S3::Bucket').find(([, b]) => b.Properties?.['NotificationConfiguration'])![0];
    const intakeId = functionId('intake');
    s.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.s3'],
        'detail-type': ['Object Created'],
        detail: { bucket: { name: [ref(bucketId)] }, object: { key: [{ wildcard: 'models/*/release.json' }] } },
      },
      Targets: [
        Match.objectLike({
          Arn: arnOf(intakeId),
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 },
          DeadLetterConfig: { Arn: Match.anyValue() },
        }),
      ],
    });
    s.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(intakeId),
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
  });

  it('dead-letter queues are KMS-encrypted with the key and TLS-only', () => {
    const keyId = onlyId(resourcesOf(s.json, 'AWS::KMS::Key'));
    const queues = resourcesOf(s.json, 'AWS::SQS::Queue');
    expect(queues).toHaveLength(2);
    for (const [, q] of queues) expect(q.Properties!['KmsMasterKeyId']).toEqual(arnOf(keyId));
    for (const [, p] of resourcesOf(s.json, 'AWS::SQS::QueuePolicy')) {
      expect(JSON.stringify(p.Properties!['PolicyDocument'])).toContain('"aws:SecureTransport":"false"');
    }
  });
});

describe('AuditLedger', () => {
  it('is one pay-per-request table: pk/sk, gsi1 (gsi1pk/gsi1sk), the sparse active index (activepk/gsi1sk), PITR, the customer key, retained', () => {
    const keyId = onlyId(resourcesOf(s.json, 'AWS::KMS::Key'));
    s.template.resourceCountIs('AWS::DynamoDB::Table', 1);
    s.template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: Match.arrayWith([
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: 'gsi1pk', AttributeType: 'S' },
          { AttributeName: 'gsi1sk', AttributeType: 'S' },
          { AttributeName: 'activepk', AttributeType: 'S' },
        ]),
        GlobalSecondaryIndexes: [
          {
            IndexName: 'gsi1',
            KeySchema: [
              { AttributeName: 'gsi1pk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
          {
            IndexName: 'active',
            KeySchema: [
              { AttributeName: 'activepk', KeyType: 'HASH' },
              { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: arnOf(keyId) },
        DeletionProtectionEnabled: true,
      },
    });
  });
});

describe('IncidentTopics', () => {
  it('three topics, each encrypted with the customer key', () => {
    const keyId = onlyId(resourcesOf(s.json, 'AWS::KMS::Key'));
    const topics = resourcesOf(s.json, 'AWS::SNS::Topic');
    expect(topics.map(([, t]) => t.Properties!['TopicName']).sort()).toEqual(['builderbrain-approvals', 'builderbrain-incidents', 'builderbrain-pipeline-alarms']);
    for (const [, t] of topics) expect(t.Properties!['KmsMasterKeyId']).toEqual(arnOf(keyId));
  });

  it('deny non-TLS publishing and publishing by anyone but the pipeline roles', () => {
    const incidentId = topicId('builderbrain-incidents');
    const approvalsId = topicId('builderbrain-approvals');
    const policyOf = (id: string) => resourcesOf(s.json, 'AWS::SNS::TopicPolicy').find(([, p]) => JSON.stringify(p.Properties!['Topics']) === JSON.stringify([ref(id)]))![1];
    const roleArn = (name: (typeof HANDLER_NAMES)[number]) => arnOf(roleId(name));
    for (const [id, publishers] of [
      // analyze-canary pages a hold (fleet-wide incident, metrics unavailable) once, P1
      // recovery pages P0 when a rollback did not restore health; bake tells the approvers of a clean end;
      // validate-manifest pages an emergency rollback release (P0)
      // incidents sends the status updates and the operators' transitions in each incident's thread
      [incidentId, ['validate-manifest', 'reject-release', 'analyze-canary', 'rollback', 'execution-ended', 'recovery', 'incidents']],
      [approvalsId, ['request-approval', 'promote', 'bake']],
    ] as const) {
      const statements = policyOf(id).Properties!['PolicyDocument'].Statement as Record<string, any>[];
      expect(statements).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          expect.objectContaining({
            Sid: 'PublishOnlyFromPipelineRoles',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'sns:Publish',
            Condition: { ArnNotEquals: { 'aws:PrincipalArn': publishers.map(roleArn) } },
          }),
        ]),
      );
    }
  });

  it('the pipeline-alarms topic accepts only CloudWatch alarms of this account', () => {
    const id = topicId('builderbrain-pipeline-alarms');
    const policy = resourcesOf(s.json, 'AWS::SNS::TopicPolicy').find(([, p]) => JSON.stringify(p.Properties!['Topics']) === JSON.stringify([ref(id)]))![1];
    expect(policy.Properties!['PolicyDocument'].Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Sid: 'AllowCloudWatchAlarms', Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        expect.objectContaining({ Sid: 'DenyPublishFromIamPrincipals', Effect: 'Deny', Condition: { Bool: { 'aws:PrincipalIsAWSService': 'false' } } }),
      ]),
    );
  });

  it('subscribes incident endpoints with a severity filter policy, the others unfiltered', () => {
    s.template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: ref(topicId('builderbrain-incidents')),
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
      FilterPolicy: { severity: ['P0', 'P1'] },
    });
    s.template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: ref(topicId('builderbrain-incidents')),
      Protocol: 'https',
      Endpoint: 'https://hooks.example.com/incidents',
      FilterPolicy: { severity: ['P0', 'P1', 'P2', 'P3'] },
    });
    s.template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: ref(topicId('builderbrain-approvals')),
      Protocol: 'email',
      FilterPolicy: Match.absent(),
    });
    s.template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: ref(topicId('builderbrain-pipeline-alarms')),
      Protocol: 'https',
      FilterPolicy: Match.absent(),
    });
  });
});

describe('PipelineFunctions', () => {
  it('has one function per handler and no other (no custom-resource Lambdas)', () => {
    expect(resourcesOf(s.json, 'AWS::Lambda::Function')).toHaveLength(HANDLER_NAMES.length);
    for (const name of HANDLER_NAMES) functionId(name);
  });

  it.each(HANDLER_NAMES)('%s: arm64, Node 22, active tracing, JSON logs to its own encrypted log group, its env only', (name) => {
    const fn = s.json.Resources[functionId(name)]!.Properties!;
    expect(fn['Architectures']).toEqual(['arm64']);
    expect(fn['Runtime']).toBe('nodejs22.x');
    expect(fn['Handler']).toBe('index.handler');
    expect(fn['TracingConfig']).toEqual({ Mode: 'Active' });
    expect(fn['MemorySize']).toBe(HANDLER_SPECS[name].memoryMb);
    expect(fn['Timeout']).toBe(HANDLER_SPECS[name].timeout.toSeconds());
    expect(fn['Role']).toEqual(arnOf(roleId(name)));
    const logGroupId = (fn['LoggingConfig'] as { LogGroup: { Ref: string } }).LogGroup.Ref;
    expect(fn['LoggingConfig']).toMatchObject({ LogFormat: 'JSON' });
    const logGroup = s.json.Resources[logGroupId]!;
    expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
    expect(logGroup.Properties).toMatchObject({ RetentionInDays: 90, KmsKeyId: arnOf(onlyId(resourcesOf(s.json, 'AWS::KMS::Key'))) });
    const vars = (fn['Environment'] as { Variables: Record<string, unknown> }).Variables;
    // verify-artifact's bucket name is provided by the stack once the bucket exists (PipelineFunctions.provideEnvironment).
    const expected = HANDLER_SPECS[name].env.map((k) => ENV[k]);
    expect(Object.keys(vars).filter((k) => k.startsWith('BB_')).sort()).toEqual([...expected].sort());
    expect(vars['POWERTOOLS_SERVICE_NAME']).toBe('builderbrain-release');
    expect(vars['NODE_OPTIONS']).toBe('--enable-source-maps');
  });

  it('passes config values through the environment', () => {
    const vars = (name: (typeof HANDLER_NAMES)[number]) => (s.json.Resources[functionId(name)]!.Properties!['Environment'] as { Variables: Record<string, any> }).Variables;
    expect(JSON.parse(vars('start-phase')[ENV.router])).toEqual(s.config.router);
    expect(JSON.parse(vars('run-gates')[ENV.gatePolicy])).toEqual(s.config.policy.gates);
    expect(JSON.parse(vars('analyze-canary')[ENV.canaryPolicy])).toEqual(s.config.policy.canary);
    expect(vars('analyze-canary')[ENV.metricsNamespace]).toBe('BuilderBrain/Serving');
    expect(vars('rollback')[ENV.model]).toBe('builderbrain');
    expect(JSON.stringify(vars('intake')[ENV.promotionStateMachineArn])).toContain(':stateMachine:builderbrain-promotion');
    expect(ServingSettingsSchema.parse(JSON.parse(vars('serving')[ENV.serving]))).toEqual(servingSettingsOf(s.config.router, s.config.deployment));
    expect(JSON.parse(vars('serving')[ENV.serving])).toEqual({
      plan: { kind: 'sagemaker', endpointName: 'builderbrain', baselineVariant: 'baseline', canaryVariant: 'canary', serving: null },
      timeoutMinutes: 60,
      pollSeconds: 30,
      bakeMinutes: 60,
    });
    const bucketId = resourcesOf(s.json, 'AWS::S3::Bucket').find(([, b]) => b.Properties?.['NotificationConfiguration'])![0];
    expect(vars('verify-artifact')[ENV.artifactBucket]).toEqual(ref(bucketId));
  });

  it('reserves no concurrency by default (opt-in: functions.rollbackReservedConcurrency, test/lib/first-deploy.test.ts)', () => {
    for (const name of HANDLER_NAMES) expect(s.json.Resources[functionId(name)]!.Properties!['ReservedConcurrentExecutions']).toBeUndefined();
  });

  it('roles have no managed policies', () => {
    for (const name of HANDLER_NAMES) expect(s.json.Resources[roleId(name)]!.Properties!['ManagedPolicyArns']).toBeUndefined();
  });
});

describe('RollbackTriggers', () => {
  it.each(Object.keys(CANARY_ALARMS) as (keyof typeof CANARY_ALARMS)[])('alarm %s: metric math on canary vs baseline, missing data not breaching', (suffix) => {
    const alarm = resourcesOf(s.json, 'AWS::CloudWatch::Alarm').find(([, a]) => a.Properties!['AlarmName'] === canaryAlarmName('builderbrain', 'builderbrain', suffix));
    expect(alarm).toBeDefined();
    const p = alarm![1].Properties!;
    expect(p['TreatMissingData']).toBe('notBreaching');
    const metrics = p['Metrics'] as { Id: string; Expression?: string; MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: string }[] }; Period: number } }[];
    const expression = metrics.find((m) => m.Expression !== undefined)!;
    expect(expression.Expression).toBeDefined();
    for (const m of metrics.filter((x) => x.MetricStat !== undefined)) {
      expect(m.MetricStat!.Metric.Namespace).toBe('BuilderBrain/Serving');
      expect(Object.values(METRIC_NAMES)).toContain(m.MetricStat!.Metric.MetricName);
      expect(m.MetricStat!.Period).toBe(60);
      const dims = Object.fromEntries(m.MetricStat!.Metric.Dimensions.map((d) => [d.Name, d.Value]));
      expect(dims['Model']).toBe('builderbrain');
      expect(['baseline', 'canary']).toContain(dims['Variant']);
    }
  });

  it('are built from the shared rules of core/alarms.ts: expression, metrics, threshold, M of N', () => {
    for (const rule of alarmRules(DEFAULT_ALARM_POLICY)) {
      const [, alarm] = resourcesOf(s.json, 'AWS::CloudWatch::Alarm').find(([, a]) => a.Properties!['AlarmName'] === canaryAlarmName('builderbrain', 'builderbrain', rule.suffix))!;
      const p = alarm.Properties!;
      expect(p).toMatchObject({
        Threshold: rule.threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: rule.evaluationPeriods,
        DatapointsToAlarm: rule.datapointsToAlarm,
      });
      const metrics = p['Metrics'] as { Id: string; Expression?: string; ReturnData?: boolean; MetricStat?: { Metric: { MetricName: string; Dimensions: { Name: string; Value: string }[] }; Stat: string } }[];
      expect(metrics.find((m) => m.Expression !== undefined)!.Expression).toBe(rule.expression);
      const used = metrics.filter((m) => m.MetricStat !== undefined);
      expect(used.map((m) => m.Id).sort()).toEqual([...rule.usingMetrics].sort());
      for (const m of used) {
        const spec = METRIC_IDS[m.Id as MetricId];
        expect(m.MetricStat!.Metric.MetricName).toBe(METRIC_NAMES[spec.metric]);
        expect(m.MetricStat!.Stat).toBe(spec.statistic);
        expect(m.MetricStat!.Metric.Dimensions).toEqual(expect.arrayContaining([{ Name: 'Variant', Value: spec.variant }]));
      }
    }
  });

  it('an EventBridge rule sends exactly these alarms going to ALARM to the rollback function, with retries and a DLQ', () => {
    const alarmIds = resourcesOf(s.json, 'AWS::CloudWatch::Alarm')
      .filter(([, a]) => CANARY_ALARM_NAMES.includes(String(a.Properties!['AlarmName'])))
      .map(([id]) => id);
    expect(alarmIds).toHaveLength(Object.keys(CANARY_ALARMS).length);
    s.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        resources: alarmIds.map(arnOf),
        detail: { state: { value: ['ALARM'] } },
      },
      Targets: [
        Match.objectLike({
          Arn: arnOf(functionId('rollback')),
          RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 3600 },
          DeadLetterConfig: { Arn: Match.anyValue() },
        }),
      ],
    });
    s.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: ref(functionId('rollback')),
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
    });
    s.template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: arnOf(functionId('rollback')),
      Principal: 'events.amazonaws.com',
    });
  });

  it('the rollback DLQ depth pages the pipeline-alarms topic', () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'builderbrain-builderbrain-rollback-dlq',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [ref(topicId('builderbrain-pipeline-alarms'))],
    });
  });
});

describe('pipeline alarms', () => {
  it('failed and timed-out executions, every handler\'s errors and the intake DLQ go to the pipeline-alarms topic', () => {
    const names = resourcesOf(s.json, 'AWS::CloudWatch::Alarm').map(([, a]) => String(a.Properties!['AlarmName']));
    for (const expected of [
      'builderbrain-promotion-executions-failed',
      'builderbrain-canary-executions-failed',
      'builderbrain-promotion-executions-timed-out',
      'builderbrain-canary-executions-timed-out',
      'builderbrain-intake-dlq',
      ...HANDLER_NAMES.map((n) => `builderbrain-lambda-${n}-errors`),
    ]) {
      expect(names).toContain(expected);
    }
    for (const [, a] of resourcesOf(s.json, 'AWS::CloudWatch::Alarm')) {
      if (CANARY_ALARM_NAMES.includes(String(a.Properties!['AlarmName']))) continue;
      expect(a.Properties!['AlarmActions']).toEqual([ref(topicId('builderbrain-pipeline-alarms'))]);
    }
  });
});

describe('ReleaseDashboard', () => {
  it('shows canary vs baseline, the canary share, alarms, executions and handler errors', () => {
    const [, dash] = resourcesOf(s.json, 'AWS::CloudWatch::Dashboard')[0]!;
    expect(dash.Properties!['DashboardName']).toBe('builderbrain-release');
    const body = JSON.stringify(dash.Properties!['DashboardBody']);
    for (const title of [
      'Error rate (%)',
      'Latency p50 / p95 / p99 (ms)',
      'Canary share of requests (%)',
      'Risk energy (mean)',
      'Constraint-violation rate (%)',
      'Safety incidents',
      'Canary alarms',
      'Executions started / failed',
      'Handler errors',
    ]) {
      expect(body).toContain(title);
    }
    for (const stat of ['p50', 'p95', 'p99']) expect(body).toContain(`\\"stat\\":\\"${stat}\\"`);
    expect(body).toContain('ExecutionsFailed');
    expect(body).toContain('ExecutionsStarted');
  });
});

describe('outputs', () => {
  it('exports every output under a stable name', () => {
    const outputs = s.template.toJSON()['Outputs'] as Record<string, { Export: { Name: string } }>;
    expect(Object.keys(outputs).sort()).toEqual(Object.values(OUTPUT_KEYS).sort());
    for (const key of Object.values(OUTPUT_KEYS)) expect(outputs[key]!.Export.Name).toBe(exportName('builderbrain', key));
    s.template.hasOutput(OUTPUT_KEYS.rollbackFunction, { Value: ref(functionId('rollback')) });
    s.template.hasOutput(OUTPUT_KEYS.table, { Value: ref(onlyId(resourcesOf(s.json, 'AWS::DynamoDB::Table'))) });
    s.template.hasOutput(OUTPUT_KEYS.model, { Value: 'builderbrain' });
  });
});

function functionId(name: (typeof HANDLER_NAMES)[number]): string {
  const pascal = name.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase());
  const found = resourcesOf(s.json, 'AWS::Lambda::Function').filter(([id]) => new RegExp(`^Functions${pascal}[0-9A-F]{8}$`).test(id));
  return onlyId(found);
}

function roleId(name: (typeof HANDLER_NAMES)[number]): string {
  const role = (s.json.Resources[functionId(name)]!.Properties!['Role'] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return role;
}

function topicId(topicName: string): string {
  return onlyId(resourcesOf(s.json, 'AWS::SNS::Topic').filter(([, t]) => t.Properties!['TopicName'] === topicName));
}

describe('ExecutionEnded', () => {
  it('an EventBridge rule sends the promotion machine\'s ABORTED, TIMED_OUT and FAILED executions to the execution-ended function, with retries and the rollback dead-letter queue', () => {
    const rules = resourcesOf(s.json, 'AWS::Events::Rule').filter(([, r]) => (JSON.stringify(r.Properties!['EventPattern']) ?? '').includes('Step Functions Execution Status Change'));
    expect(rules).toHaveLength(1);
    const [, rule] = rules[0]!;
    const machines = resourcesOf(s.json, 'AWS::StepFunctions::StateMachine').filter(([, m]) => String(JSON.stringify(m.Properties!['StateMachineName'])).includes('promotion'));
    expect(machines).toHaveLength(1);
    expect(rule.Properties!['EventPattern']).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['ABORTED', 'TIMED_OUT', 'FAILED'], stateMachineArn: [ref(machines[0]![0])] },
    });
    const [target] = rule.Properties!['Targets'] as Record<string, any>[];
    expect(target!['Arn']).toEqual(arnOf(functionId('execution-ended')));
    expect(target!['RetryPolicy']).toEqual({ MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 8 });
    expect(target!['DeadLetterConfig']).toBeDefined();
  });
});
