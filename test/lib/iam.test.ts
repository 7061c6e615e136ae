/**
 * Least privilege, checked on the template: every statement of every AWS::IAM::Policy names specific
 * resources, except the actions for which AWS offers no resource-level permissions; no action
 * wildcards; and each handler's role carries exactly the actions its adapters call.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_NAMES, type HandlerName } from '../../lib/pipeline-functions.js';
import { resourcesOf, synth, type Synthesized } from './fixture.js';

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

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  NotAction?: unknown;
  NotResource?: unknown;
}

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

const list = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);

describe('every IAM policy statement', () => {
  it('there are policies to check (10 handlers, 2 state machines)', () => {
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
        // A wildcard may only end an ARN of one named resource: objects under a prefix of one bucket,
        // executions of one state machine, versions of one function.
        for (const r of resources.filter((x) => x !== '*')) {
          const text = JSON.stringify(r);
          if (!text.includes('*')) continue;
          expect(text, p.id).toMatch(/(\/models\/\*|:execution:[^*]+\*|:\*)"\]\]\}$/);
          expect(text, p.id).toMatch(/Fn::GetAtt|Ref|builderbrain-canary|builderbrain-promotion/);
        }
      }
    }
    // The exceptions in use, for the report.
    expect([...starActions].sort()).toEqual([...RESOURCE_STAR_ONLY].sort());
  });

  it('no handler may query the ledger or its index (only the CLI lists releases)', () => {
    for (const p of policies.filter((x) => x.roles[0]!.startsWith('Functions'))) {
      expect(JSON.stringify(p.statements), p.id).not.toContain('dynamodb:Query');
      expect(JSON.stringify(p.statements), p.id).not.toContain('/index/');
    }
  });
});

describe('each handler gets exactly what its adapters call', () => {
  const common = ['logs:CreateLogStream', 'logs:PutLogEvents', 'xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
  const kmsTable = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'];
  const ddb = (...actions: string[]) => [...actions.map((a) => `dynamodb:${a}`), ...kmsTable];
  /** lambdas/README.md's table: what the use cases' ledger and lock calls become. */
  const rw = ddb('GetItem', 'PutItem', 'UpdateItem');
  const publish = ['sns:Publish', 'kms:Decrypt', 'kms:GenerateDataKey'];
  const router = ['sagemaker:UpdateEndpointWeightsAndCapacities'];
  const expected: Record<HandlerName, string[]> = {
    intake: ['states:StartExecution', 'sqs:SendMessage', 'kms:Decrypt', 'kms:GenerateDataKey'],
    'validate-manifest': [...ddb('GetItem', 'PutItem'), 's3:GetObject', 's3:GetObjectVersion'],
    'release-lock': ddb('GetItem', 'PutItem', 'DeleteItem'),
    'run-gates': rw,
    'reject-release': [...rw, ...publish],
    'start-phase': [...rw, ...router],
    'analyze-canary': [...ddb('PutItem', 'UpdateItem'), 'cloudwatch:GetMetricData'],
    'request-approval': [...rw, ...publish],
    promote: [...rw, ...router, ...publish],
    rollback: [...ddb('GetItem', 'PutItem', 'UpdateItem', 'DeleteItem'), ...router, ...publish, 'states:StopExecution', 'sqs:SendMessage'],
  };

  it.each(HANDLER_NAMES)('%s', (name) => {
    const pascal = name.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase());
    const policy = policies.find((p) => p.roles.length === 1 && new RegExp(`^Functions${pascal}Role[0-9A-F]{8}$`).test(p.roles[0]!));
    expect(policy).toBeDefined();
    const actions = new Set(policy!.statements.flatMap((st) => list(st.Action)));
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
  });
});

describe('state machine roles', () => {
  it('invoke only their own functions; the promotion role starts only the canary machine', () => {
    const promotion = policies.find((p) => p.roles[0]!.startsWith('PromotionRole'))!;
    const canary = policies.find((p) => p.roles[0]!.startsWith('CanaryRole'))!;
    const invoked = (p: typeof promotion) =>
      [...new Set(p.statements.filter((st) => list(st.Action).includes('lambda:InvokeFunction')).flatMap((st) => list(st.Resource)).map((r) => JSON.stringify(r).match(/Functions([A-Za-z]+?)[0-9A-F]{8}/)![1]))].sort();
    expect(invoked(promotion)).toEqual(['RejectRelease', 'ReleaseLock', 'Rollback', 'RunGates', 'ValidateManifest']);
    expect(invoked(canary)).toEqual(['AnalyzeCanary', 'Promote', 'RequestApproval', 'Rollback', 'StartPhase']);
    const start = promotion.statements.find((st) => list(st.Action).includes('states:StartExecution'))!;
    expect(start.Resource).toEqual({ Ref: expect.stringMatching(/^Canary[0-9A-F]{8}$/) });
  });
});

describe('the Lambda-alias router', () => {
  it('grants GetAlias/UpdateAlias on the routed function and its aliases only', () => {
    const alias = synth({ router: { kind: 'lambda-alias', functionName: 'builderbrain-serving', liveAlias: 'live', candidateAlias: 'candidate' } });
    const routers = resourcesOf(alias.json, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties).includes('lambda:UpdateAlias'));
    expect(routers.map(([id]) => id.replace(/RoleDefaultPolicy.*$/, '')).sort()).toEqual(['FunctionsPromote', 'FunctionsRollback', 'FunctionsStartPhase']);
    for (const [, p] of routers) {
      const st = (p.Properties!['PolicyDocument'].Statement as Statement[]).find((x) => list(x.Action).includes('lambda:UpdateAlias'))!;
      expect(list(st.Action)).toEqual(['lambda:GetAlias', 'lambda:UpdateAlias']);
      const text = JSON.stringify(st.Resource);
      expect(text).toContain(':function:builderbrain-serving"');
      expect(text).toContain(':function:builderbrain-serving:*"');
      expect(JSON.stringify(p.Properties)).not.toContain('sagemaker:');
    }
  });
});
