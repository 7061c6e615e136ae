/**
 * Least privilege, checked on the template: every statement of every AWS::IAM::Policy names specific
 * resources, except the actions for which AWS offers no resource-level permissions; no action
 * wildcards; and each handler's role carries exactly the actions its adapters call — on the
 * standalone stack, and on the environment chain's stacks for the chain's own steps.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { sageMakerNamePrefix, sageMakerNames } from '../../core/deployment.js';
import { CHAIN_HANDLER_NAMES, HANDLER_NAMES, type HandlerName } from '../../lib/pipeline-functions.js';
import { ACCOUNTS, chainEnvironments, HOOKS, REGION, synthChain, type SynthesizedChain } from './chain-fixture.js';
import {
  acknowledgedOn,
  constructOf,
  functionId,
  grants,
  handlerStatements,
  LAMBDA_ROUTER,
  list,
  nagText,
  resourcesOf,
  SAGEMAKER_SERVING,
  synth,
  type Statement,
  type Synthesized,
} from './fixture.js';

/**
 * Actions AWS allows only on Resource "*" (Service Authorization Reference: no resource types):
 * CloudWatch metric reads, X-Ray, and the CloudWatch Logs vended-log delivery Step Functions needs.
 */
const RESOURCE_STAR_ONLY = new Set([
  'cloudwatch:GetMetricData',
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

let s: Synthesized;
let policies: { id: string; roles: string[]; statements: Statement[] }[];
beforeAll(() => {
  s = synth();
  policies = resourcesOf(s.json, 'AWS::IAM::Policy').map(([id, p]) => ({
    id,
    roles: (p.Properties!['Roles'] as { Ref: string }[]).map((r) => r.Ref),
    statements: p.Properties!['PolicyDocument'].Statement as Statement[],
  }));
});

describe('every IAM policy statement', () => {
  it('there are policies to check (one per handler, 2 state machines)', () => {
    expect(policies).toHaveLength(HANDLER_NAMES.length + 2);
  });

  it('allows, never uses NotAction/NotResource, and has no action wildcard', () => {
    for (const p of policies) {
      for (const st of p.statements) {
        expect(st.Effect, p.id).toBe('Allow');
        expect(st.NotAction, p.id).toBeUndefined();
        expect(st.NotResource, p.id).toBeUndefined();
        for (const a of list(st.Action)) expect(a, `${p.id}: ${a}`).not.toContain('*');
      }
    }
  });

  it('names specific resources, except the actions AWS allows only on "*"', () => {
    const starActions = new Set<string>();
    for (const p of policies) {
      for (const st of p.statements) {
        const resources = list(st.Resource);
        if (resources.includes('*')) {
          expect(resources, p.id).toEqual(['*']);
          for (const a of list(st.Action)) {
            expect(RESOURCE_STAR_ONLY.has(a), `${p.id}: ${a} on "*"`).toBe(true);
            starActions.add(a);
          }
        }
        // A wildcard may only end an ARN of one named resource (objects under a prefix of one bucket,
        // executions of one state machine, versions of one function, the SageMaker names this
        // pipeline makes), and only where the role acknowledges that very finding with a reason.
        for (const r of resources.filter((x) => x !== '*')) {
          const text = nagText(r);
          if (!text.includes('*')) continue;
          expect(text.indexOf('*'), `${p.id}: ${text}`).toBe(text.length - 1);
          expect(text, p.id).toMatch(/^(arn:<AWS::Partition>:[a-z]+:<AWS::Region>:<AWS::AccountId>:|<[A-Za-z0-9]+\.Arn>)/);
          expect(acknowledgedOn(constructOf(s.stack, p.id)), `${p.id}: ${text} is not acknowledged`).toContain(`AwsSolutions-IAM5[Resource::${text}]`);
        }
      }
    }
    // The exceptions in use, for the report.
    expect([...starActions].sort()).toEqual([...RESOURCE_STAR_ONLY].sort());
  });

  it('no handler may query the ledger\'s index (only the CLI lists releases); a handler\'s Query reads release timelines only (the hash chain\'s tail)', () => {
    for (const p of policies.filter((x) => x.roles[0]!.startsWith('Functions'))) {
      // The incidents' reminder schedule lists the newest releases: the release index's one partition (test/lib/incident-reminders.test.ts).
      const indexes = JSON.stringify(p.statements).match(/\/index\/[a-z0-9]+/g) ?? [];
      expect(indexes, p.id).toEqual(p.roles[0]!.startsWith('FunctionsIncidentsRole') ? ['/index/gsi1'] : []);
      if (p.roles[0]!.startsWith('FunctionsIncidentsRole')) continue;
      if (p.roles[0]!.startsWith('FunctionsRecoveryRole')) continue;
      for (const st of p.statements.filter((x) => list(x.Action).includes('dynamodb:Query'))) {
        expect(st.Condition, p.id).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['RELEASE#*'] }, Null: { 'dynamodb:LeadingKeys': 'false' } });
      }
    }
  });
});

describe('each handler gets exactly what its adapters call', () => {
  const common = ['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
  const kmsTable = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'];
  const ddb = (...actions: string[]) => [...actions.map((a) => `dynamodb:${a}`), ...kmsTable];
  /** lambdas/README.md's table: what the use cases' ledger and lock calls become. */
  const rw = ddb('GetItem', 'PutItem', 'UpdateItem', 'Query');
  const publish = ['sns:Publish', 'kms:Decrypt', 'kms:GenerateDataKey'];
  const router = ['sagemaker:DescribeEndpoint', 'sagemaker:UpdateEndpointWeightsAndCapacities'];
  /** lambdas/adapters/sagemaker-target.ts (the default config has no deployment.sagemaker: no role to pass). */
  const sageMakerTarget = [
    'sagemaker:CreateModel',
    'sagemaker:CreateEndpointConfig',
    'sagemaker:DescribeEndpointConfig',
    'sagemaker:CreateEndpoint',
    'sagemaker:UpdateEndpoint',
    'sagemaker:DescribeEndpoint',
    'sagemaker:DeleteEndpoint',
    'sagemaker:InvokeEndpoint',
  ];
  const expected: Record<HandlerName, string[]> = {
    intake: ['states:StartExecution', 'sqs:SendMessage', 'kms:Decrypt', 'kms:GenerateDataKey'],
    'validate-manifest': [...ddb('GetItem', 'PutItem', 'UpdateItem', 'Query'), 's3:GetObject', 's3:GetObjectVersion', ...publish],
    'release-lock': ddb('GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'),
    'run-gates': rw,
    'verify-artifact': [...ddb('GetItem', 'PutItem', 'UpdateItem', 'Query'), 's3:GetObject', 's3:GetObjectVersion'],
    serving: [...rw, ...sageMakerTarget],
    'reject-release': [...rw, ...publish],
    'start-phase': [...rw, ...router],
    'analyze-canary': [...ddb('GetItem', 'PutItem', 'UpdateItem', 'Query'), 'cloudwatch:GetMetricData', ...publish],
    'request-approval': [...rw, ...publish],
    promote: [...rw, ...router, ...publish],
    rollback: [...ddb('GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'), ...router, ...publish, 'states:StopExecution', 'sqs:SendMessage'],
    'execution-ended': [...ddb('GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'), ...router, ...publish, 'states:StopExecution', 'sqs:SendMessage'],
    // The bake reads the metrics (the release's and the previous version's a day or a week before), tells the approvers of the clean end.
    bake: [...rw, 'cloudwatch:GetMetricData', ...publish],
    // The recovery check reads the release's timeline (Query), the metrics and the router's split, pages P0 when not recovered;
    // then writes the post-rollback analysis: the manifest read (s3:GetObject*), the report written under analysis/ (s3:PutObject).
    recovery: [...ddb('GetItem', 'PutItem', 'UpdateItem', 'Query'), 'cloudwatch:GetMetricData', 'sagemaker:DescribeEndpoint', ...publish, 's3:GetObject', 's3:GetObjectVersion', 's3:PutObject'],
    // The reminder schedule lists the newest releases (Query of the release index), reads timelines, appends updates, pages in the incident's thread.
    incidents: [...ddb('GetItem', 'PutItem', 'UpdateItem', 'Query'), ...publish],
    // The chain's steps (their functions exist only in the environments that need them: below).
    'run-hooks': [...ddb('GetItem', 'PutItem', 'UpdateItem', 'Query'), 'lambda:InvokeFunction'],
    drill: [...ddb('GetItem', 'PutItem', 'UpdateItem', 'Query'), ...router, 'cloudwatch:GetMetricData'],
    // Every ledger user appends: GetItem (the eventId's marker), Query (the hash chain's tail), PutItem.
    'hand-over': [...ddb('GetItem', 'PutItem', 'UpdateItem', 'Query'), 's3:GetObject', 's3:GetObjectVersion', 'events:PutEvents'],
    // Reads the previous account's artifact (s3, kms:Decrypt), writes its own bucket (multipart: kms:GenerateDataKey), pages a refusal, parks failures.
    'accept-handover': [...ddb('GetItem', 'PutItem', 'UpdateItem', 'Query'), ...publish, 's3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 'sqs:SendMessage'],
  };

  it.each(HANDLER_NAMES)('%s', (name) => {
    const pascal = name.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase());
    const policy = policies.find((p) => p.roles.length === 1 && new RegExp(`^Functions${pascal}Role[0-9A-F]{8}$`).test(p.roles[0]!));
    expect(policy).toBeDefined();
    const actions = new Set(policy!.statements.flatMap((st) => list(st.Action)));
    expect([...actions].sort()).toEqual([...new Set([...common, ...expected[name]])].sort());
  });

  it('the standalone stack has none of the chain\'s functions', () => {
    for (const name of CHAIN_HANDLER_NAMES) {
      const pascal = name.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase());
      expect(policies.filter((p) => p.roles[0]!.startsWith(`Functions${pascal}Role`)), name).toEqual([]);
    }
  });

  it.each(CHAIN_HANDLER_NAMES)('%s (pre-production of the chain, which has all four)', (name) => {
    const actions = new Set(handlerStatements(chainStack('pre-production'), name).flatMap((st) => list(st.Action)));
    expect([...actions].sort()).toEqual([...new Set([...common, ...expected[name]])].sort());
  });

  it('sns:Publish targets the one topic of each publisher', () => {
    const topicOf = (name: HandlerName) => {
      const pascal = name.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase());
      const policy = policies.find((p) => new RegExp(`^Functions${pascal}Role`).test(p.roles[0]!))!;
      return policy.statements.filter((st) => list(st.Action).includes('sns:Publish')).map((st) => JSON.stringify(st.Resource));
    };
    expect(topicOf('reject-release')).toEqual([expect.stringContaining('IncidentTopic')]);
    expect(topicOf('rollback')).toEqual([expect.stringContaining('IncidentTopic')]);
    expect(topicOf('request-approval')).toEqual([expect.stringContaining('ApprovalsTopic')]);
    expect(topicOf('promote')).toEqual([expect.stringContaining('ApprovalsTopic')]);
    expect(topicOf('bake')).toEqual([expect.stringContaining('ApprovalsTopic')]);
    expect(topicOf('recovery')).toEqual([expect.stringContaining('IncidentTopic')]);
  });

  it('recovery: Query on the table\'s RELEASE# partitions only (a release\'s timeline), no index', () => {
    const query = handlerStatements(s.json, 'recovery').filter((st) => list(st.Action).includes('dynamodb:Query'));
    expect(query).toHaveLength(1);
    expect(nagText(query[0]!.Resource)).toMatch(/^<AuditLedgerTable[0-9A-F]{8}\.Arn>$/);
    expect(query[0]!.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['RELEASE#*'] }, Null: { 'dynamodb:LeadingKeys': 'false' } });
  });
});

let chain: SynthesizedChain;
const chainStack = (env: keyof typeof ACCOUNTS) => {
  chain ??= synthChain({ environments: chainEnvironments({ 'pre-production': { hooks: [...HOOKS] } }) });
  return chain.stacks[env]!.json;
};

describe('the chain\'s steps: each grant on exactly its resources', () => {
  it('run-hooks: lambda:InvokeFunction on the configured hook ARNs, as configured (an alias qualifier included)', () => {
    expect(grants(handlerStatements(chainStack('pre-production'), 'run-hooks'))['lambda:InvokeFunction']).toEqual(HOOKS.map((h) => h.functionArn).sort());
  });

  it('hand-over: events:PutEvents on the next environment\'s bus alone; Query on the table\'s RELEASE# partitions only (a release\'s timeline), no index', () => {
    const statements = handlerStatements(chainStack('pre-production'), 'hand-over');
    const g = grants(statements);
    expect(g['events:PutEvents']).toEqual([`arn:<AWS::Partition>:events:${REGION}:${ACCOUNTS.production}:event-bus/builderbrain-handover`]);
    const query = statements.filter((st) => list(st.Action).includes('dynamodb:Query'));
    expect(query).toHaveLength(1);
    expect(nagText(query[0]!.Resource)).toMatch(/^<AuditLedgerTable[0-9A-F]{8}\.Arn>$/);
    expect(query[0]!.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['RELEASE#*'] }, Null: { 'dynamodb:LeadingKeys': 'false' } });
  });

  it('no handler of any environment may query the ledger\'s indexes; its Query reads release timelines only', () => {
    for (const env of Object.keys(ACCOUNTS) as (keyof typeof ACCOUNTS)[]) {
      for (const [id, p] of resourcesOf(chainStack(env), 'AWS::IAM::Policy').filter(([i]) => i.startsWith('Functions'))) {
        const statements = p.Properties!['PolicyDocument'].Statement as Statement[];
        for (const st of statements.filter((x) => list(x.Action).includes('dynamodb:Query'))) {
          if (id.startsWith('FunctionsIncidents')) continue;
          expect(JSON.stringify(st.Resource), `${env} ${id}`).not.toContain('/index/');
          expect(st.Condition, `${env} ${id}`).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['RELEASE#*'] }, Null: { 'dynamodb:LeadingKeys': 'false' } });
        }
      }
    }
  });

  it('drill: the router and metric reads, like start-phase and analyze-canary', () => {
    const g = grants(handlerStatements(chainStack('pre-production'), 'drill'));
    expect(g['sagemaker:UpdateEndpointWeightsAndCapacities']).toEqual([`arn:aws:sagemaker:${REGION}:${ACCOUNTS['pre-production']}:endpoint/builderbrain`]);
    expect(g['cloudwatch:GetMetricData']).toEqual(['*']);
  });

  it('every statement of every chain stack: Allow, no NotAction/NotResource, no action wildcard; "*" only where AWS allows nothing else', () => {
    for (const env of Object.keys(ACCOUNTS) as (keyof typeof ACCOUNTS)[]) {
      for (const [id, p] of resourcesOf(chainStack(env), 'AWS::IAM::Policy')) {
        for (const st of p.Properties!['PolicyDocument'].Statement as Statement[]) {
          expect(st.Effect, id).toBe('Allow');
          expect(st.NotAction ?? st.NotResource, id).toBeUndefined();
          for (const a of list(st.Action)) expect(a, `${env} ${id}: ${a}`).not.toContain('*');
          if (list(st.Resource).includes('*')) for (const a of list(st.Action)) expect(RESOURCE_STAR_ONLY.has(a), `${env} ${id}: ${a} on "*"`).toBe(true);
        }
      }
    }
  });

  it('wildcards only at the end of an ARN and acknowledged, but for accept-handover\'s read of the previous account\'s buckets (names unknown at synth)', () => {
    for (const env of ['staging', 'pre-production', 'production'] as const) {
      const problems = wildcardProblems({ stack: chain.stacks[env]!.stack, json: chainStack(env) } as Synthesized);
      // Any bucket (its generated name is another stack's, often another account's), models/builderbrain/ only, and only buckets of the previous account (s3:ResourceAccount).
      const expectedProblems = env === 'staging' ? [] : [expect.stringMatching(/^FunctionsAcceptHandoverRoleDefaultPolicy[0-9A-F]{8}: arn:aws:s3:::\*\/models\/builderbrain\/\* has a wildcard before its end$/)];
      expect(problems, env).toEqual(expectedProblems);
    }
  });
});

describe('state machine roles', () => {
  it('invoke only their own functions; the promotion role starts only the canary machine', () => {
    const promotion = policies.find((p) => p.roles[0]!.startsWith('PromotionRole'))!;
    const canary = policies.find((p) => p.roles[0]!.startsWith('CanaryRole'))!;
    const invoked = (p: typeof promotion) =>
      [...new Set(p.statements.filter((st) => list(st.Action).includes('lambda:InvokeFunction')).flatMap((st) => list(st.Resource)).map((r) => JSON.stringify(r).match(/Functions([A-Za-z]+?)[0-9A-F]{8}/)![1]))].sort();
    expect(invoked(promotion)).toEqual(['Bake', 'Recovery', 'RejectRelease', 'ReleaseLock', 'Rollback', 'RunGates', 'Serving', 'ValidateManifest', 'VerifyArtifact']);
    expect(invoked(canary)).toEqual(['AnalyzeCanary', 'Promote', 'RequestApproval', 'Rollback', 'StartPhase']);
    const start = promotion.statements.find((st) => list(st.Action).includes('states:StartExecution'))!;
    expect(start.Resource).toEqual({ Ref: expect.stringMatching(/^Canary[0-9A-F]{8}$/) });
  });
});

describe('the Lambda-alias router', () => {
  let alias: Synthesized;
  beforeAll(() => {
    alias = synth({ router: LAMBDA_ROUTER });
  });
  const fn = 'arn:<AWS::Partition>:lambda:<AWS::Region>:<AWS::AccountId>:function:builderbrain-serving';

  it('grants GetAlias/UpdateAlias on the routed function and its aliases only', () => {
    const routers = resourcesOf(alias.json, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties).includes('lambda:UpdateAlias'));
    // The router handlers and the serving handler (below), nothing else: recovery only reads the split.
    expect(routers.map(([id]) => id.replace(/RoleDefaultPolicy.*$/, '')).sort()).toEqual(['FunctionsExecutionEnded', 'FunctionsPromote', 'FunctionsRollback', 'FunctionsServing', 'FunctionsStartPhase']);
    const reader = handlerStatements(alias.json, 'recovery').find((x) => list(x.Action).includes('lambda:GetAlias'))!;
    expect(list(reader.Action)).toEqual(['lambda:GetAlias']);
    for (const name of ['start-phase', 'promote', 'rollback'] as const) {
      const statements = handlerStatements(alias.json, name);
      const st = statements.find((x) => list(x.Action).includes('lambda:UpdateAlias'))!;
      expect(list(st.Action)).toEqual(['lambda:GetAlias', 'lambda:UpdateAlias']);
      expect(list(st.Resource).map(nagText).sort()).toEqual([fn, `${fn}:*`]);
      expect(JSON.stringify(statements)).not.toContain('sagemaker:');
    }
  });

  it('the serving role gets the Lambda target actions on the one function and its qualified ARN only; no SageMaker, no PassRole', () => {
    const statements = handlerStatements(alias.json, 'serving');
    const g = grants(statements);
    const target = Object.fromEntries(Object.entries(g).filter(([a]) => !/^(logs|xray|dynamodb|kms):/.test(a)));
    const both = [fn, `${fn}:*`];
    expect(target).toEqual({
      'lambda:GetFunctionConfiguration': both,
      'lambda:UpdateFunctionConfiguration': both,
      'lambda:PublishVersion': both,
      'lambda:ListVersionsByFunction': both,
      'lambda:GetAlias': both,
      'lambda:CreateAlias': both,
      'lambda:UpdateAlias': both,
      'lambda:DeleteAlias': both,
      'lambda:InvokeFunction': both,
    });
    expect(JSON.stringify(statements)).not.toMatch(/sagemaker:|iam:PassRole/);
    // The key statements carry kms:ViaService (test/lib/kms-policy.test.ts).
    // …and the ledger's writes carry dynamodb:LeadingKeys (test/lib/ledger-append-only.test.ts).
    expect(statements.filter((st) => st.Condition !== undefined && !list(st.Action).every((a) => a.startsWith('kms:') || a.startsWith('dynamodb:')))).toEqual([]);
  });

  it('no wildcard resource besides the acknowledged ones', () => {
    expect(wildcardProblems(alias)).toEqual([]);
  });
});

describe('the serving role with deployment.sagemaker', () => {
  let sm: Synthesized;
  beforeAll(() => {
    sm = synth({ deployment: { sagemaker: SAGEMAKER_SERVING } });
  });
  const arn = (resource: string) => `arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:${resource}`;
  const ours = (resource: string) => arn(`${resource}/builderbrain--*`);
  const endpoint = arn('endpoint/builderbrain');

  it('each SageMaker action on exactly its resources, iam:PassRole on the execution role alone', () => {
    const g = grants(handlerStatements(sm.json, 'serving'));
    const target = Object.fromEntries(Object.entries(g).filter(([a]) => /^(sagemaker|iam):/.test(a)));
    expect(target).toEqual({
      'sagemaker:CreateModel': [ours('model')],
      'sagemaker:CreateEndpointConfig': [ours('endpoint-config')],
      'sagemaker:CreateEndpoint': [endpoint, ours('endpoint-config')].sort(),
      'sagemaker:UpdateEndpoint': [endpoint, ours('endpoint-config')].sort(),
      'sagemaker:DescribeEndpoint': [endpoint],
      'sagemaker:DeleteEndpoint': [endpoint],
      'sagemaker:InvokeEndpoint': [endpoint],
      'sagemaker:DescribeEndpointConfig': [arn('endpoint-config/*')],
      'iam:PassRole': [SAGEMAKER_SERVING.executionRoleArn],
    });
  });

  it('every endpoint config of the account is readable, none writable', () => {
    const onAny = handlerStatements(sm.json, 'serving').filter((st) => list(st.Resource).map(nagText).includes(arn('endpoint-config/*')));
    expect(onAny.flatMap((st) => list(st.Action))).toEqual(['sagemaker:DescribeEndpointConfig']);
  });

  it('iam:PassRole: one statement, that role, to SageMaker only; no other role may pass a role', () => {
    const passing = resourcesOf(sm.json, 'AWS::IAM::Policy').flatMap(([id, p]) =>
      (p.Properties!['PolicyDocument'].Statement as Statement[]).filter((st) => list(st.Action).includes('iam:PassRole')).map((st) => ({ id, st })),
    );
    expect(passing).toHaveLength(1);
    expect(passing[0]!.id).toMatch(/^FunctionsServingRoleDefaultPolicy/);
    expect(passing[0]!.st).toEqual({
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: SAGEMAKER_SERVING.executionRoleArn,
      Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    });
    // Without deployment.sagemaker there is no role to pass.
    expect(JSON.stringify(handlerStatements(s.json, 'serving'))).not.toContain('iam:PassRole');
  });

  it('every SageMaker name a release creates falls under the grants (names in ARNs are lower case)', () => {
    const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\*/g, '.*')}$`);
    for (const endpointName of ['builderbrain', 'BuilderBrain-Production-Endpoint-EU']) {
      const x = endpointName === 'builderbrain' ? sm : synth({ router: { kind: 'sagemaker', endpointName, baselineVariant: 'baseline', canaryVariant: 'canary' }, deployment: { sagemaker: SAGEMAKER_SERVING } });
      const g = grants(handlerStatements(x.json, 'serving'));
      const prefix = sageMakerNamePrefix(endpointName).toLowerCase();
      expect(g['sagemaker:CreateModel']).toEqual([arn(`model/${prefix}--*`)]);
      expect(g['sagemaker:DescribeEndpoint']).toEqual([arn(`endpoint/${endpointName.toLowerCase()}`)]);
      for (const [releaseId, version] of [
        ['builderbrain-2_1_0-abcdef12', '2.1.0'],
        ['builderbrain-10_20_300-rc_1-0123abcd', '10.20.300-RC.1+build.2024-01-01.very-long-suffix'],
      ] as const) {
        const names = sageMakerNames(endpointName, releaseId, version);
        const lower = (n: string) => n.toLowerCase();
        expect(arn(`model/${lower(names.model)}`)).toMatch(glob(g['sagemaker:CreateModel']![0]!));
        for (const config of [names.candidateConfig, names.convergedConfig, names.restoreConfig]) {
          expect(arn(`endpoint-config/${lower(config)}`)).toMatch(glob(g['sagemaker:CreateEndpointConfig']![0]!));
          expect(g['sagemaker:UpdateEndpoint']!.some((r) => glob(r).test(arn(`endpoint-config/${lower(config)}`)))).toBe(true);
        }
      }
    }
  });

  it("another endpoint's names (builderbrain-staging) are not covered by the grants of endpoint builderbrain", () => {
    const glob = (pattern: string) => new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\*/g, '.*')}$`);
    const g = grants(handlerStatements(sm.json, 'serving'));
    const other = sageMakerNames('builderbrain-staging', 'builderbrain-2_1_0-abcdef12', '2.1.0');
    expect(glob(g['sagemaker:CreateModel']![0]!).test(arn(`model/${other.model}`))).toBe(false);
    expect(glob(g['sagemaker:CreateEndpointConfig']![0]!).test(arn(`endpoint-config/${other.candidateConfig}`))).toBe(false);
  });

  it('the bucket policy lets that role s3:GetObject on models/* and nothing else', () => {
    const bucketId = resourcesOf(sm.json, 'AWS::S3::Bucket').find(([, b]) => b.Properties?.['NotificationConfiguration'])![0];
    const [, policy] = resourcesOf(sm.json, 'AWS::S3::BucketPolicy').find(([, p]) => p.Properties!['Bucket'].Ref === bucketId)!;
    const forRole = (policy.Properties!['PolicyDocument'].Statement as Statement[]).filter((st) => JSON.stringify(st.Principal).includes(SAGEMAKER_SERVING.executionRoleArn));
    expect(forRole).toEqual([
      {
        Sid: 'ServingRoleReadsArtifacts',
        Effect: 'Allow',
        Principal: { AWS: SAGEMAKER_SERVING.executionRoleArn },
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [bucketId, 'Arn'] }, '/models/*']] },
      },
    ]);
    sm.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: bucketId },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'ServingRoleReadsArtifacts', Principal: { AWS: SAGEMAKER_SERVING.executionRoleArn } })]) },
    });
    // Without deployment.sagemaker: no outside principal in the bucket policy.
    expect(JSON.stringify(resourcesOf(s.json, 'AWS::S3::BucketPolicy'))).not.toContain('ServingRoleReadsArtifacts');
  });

  it('the key policy lets that role kms:Decrypt through S3 in this region only', () => {
    const [, key] = resourcesOf(sm.json, 'AWS::KMS::Key')[0]!;
    const forRole = (key.Properties!['KeyPolicy'].Statement as Statement[]).filter((st) => JSON.stringify(st.Principal).includes(SAGEMAKER_SERVING.executionRoleArn));
    expect(forRole).toEqual([
      {
        Sid: 'ServingRoleDecryptsArtifacts',
        Effect: 'Allow',
        Principal: { AWS: SAGEMAKER_SERVING.executionRoleArn },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } },
      },
    ]);
    expect(JSON.stringify(resourcesOf(s.json, 'AWS::KMS::Key'))).not.toContain('ServingRoleDecryptsArtifacts');
  });

  it('no wildcard resource besides the acknowledged ones', () => {
    expect(wildcardProblems(sm)).toEqual([]);
  });
});

describe('verify-artifact', () => {
  it('a full vCPU (1769 MB) for 15 minutes; reads models/* of the artifact bucket only; no SageMaker', () => {
    const fn = s.json.Resources[functionId(s.json, 'verify-artifact')]!.Properties!;
    expect(fn['MemorySize']).toBe(1769);
    expect(fn['Timeout']).toBe(15 * 60);
    const bucketId = resourcesOf(s.json, 'AWS::S3::Bucket').find(([, b]) => b.Properties?.['NotificationConfiguration'])![0];
    const statements = handlerStatements(s.json, 'verify-artifact');
    const g = grants(statements);
    const s3 = Object.fromEntries(Object.entries(g).filter(([a]) => a.startsWith('s3:')));
    expect(s3).toEqual({ 's3:GetObject': [`<${bucketId}.Arn>/models/*`], 's3:GetObjectVersion': [`<${bucketId}.Arn>/models/*`] });
    expect(JSON.stringify(statements)).not.toMatch(/sagemaker:|iam:PassRole|s3:PutObject|s3:DeleteObject/);
    expect((fn['Environment'] as { Variables: Record<string, unknown> }).Variables['BB_ARTIFACT_BUCKET']).toEqual({ Ref: bucketId });
  });
});

/**
 * What is wrong with a config's wildcard resources: `*` only for the actions AWS allows on no
 * resource, and any other wildcard only at the end of an ARN and acknowledged on that role.
 */
function wildcardProblems(x: Synthesized): string[] {
  const problems: string[] = [];
  for (const [id, p] of resourcesOf(x.json, 'AWS::IAM::Policy')) {
    const acked = acknowledgedOn(constructOf(x.stack, id));
    for (const st of p.Properties!['PolicyDocument'].Statement as Statement[]) {
      const resources = list(st.Resource);
      if (resources.includes('*')) {
        if (resources.length !== 1) problems.push(`${id}: "*" among other resources`);
        for (const a of list(st.Action)) if (!RESOURCE_STAR_ONLY.has(a)) problems.push(`${id}: ${a} on "*"`);
        if (!acked.has('AwsSolutions-IAM5[Resource::*]')) problems.push(`${id}: "*" not acknowledged`);
      }
      for (const r of resources.filter((y) => y !== '*').map(nagText)) {
        if (!r.includes('*')) continue;
        if (r.indexOf('*') !== r.length - 1) problems.push(`${id}: ${r} has a wildcard before its end`);
        if (!acked.has(`AwsSolutions-IAM5[Resource::${r}]`)) problems.push(`${id}: ${r} not acknowledged`);
      }
    }
  }
  return problems;
}
