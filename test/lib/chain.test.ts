/**
 * The environment chain on the synthesized stacks (lib/synth.ts addEnvironmentStacks): staging →
 * pre-production → production, each a stack in its own account. A version enters environment N+1
 * only through N+1's hand-over bus, whose policy admits N's account alone and whose rule matches N's
 * hand-overs of this model to N+1 alone; N's hand-over step may put events on exactly that bus, and
 * N's bucket and key let exactly N+1's account read the promoted artifacts, through S3 only.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { Aws, Stack, Validations } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { handoverBusName, HANDOVER_DETAIL_TYPE, HANDOVER_SOURCE, type EnvironmentSettings } from '../../core/environments.js';
import { InvalidInputError } from '../../core/errors.js';
import { ENV } from '../../core/runtime-config.js';
import { STEPS } from '../../core/steps.js';
import { environmentPipelines, parsePipelineConfig } from '../../lib/config.js';
import { HANDOVER_POLICY_SID } from '../../lib/handover-bus.js';
import { CHAIN_HANDLER_NAMES, HANDLER_NAMES, worstCaseBytes, type HandlerName } from '../../lib/pipeline-functions.js';
import { CHAIN_OUTPUT_KEYS } from '../../lib/stack.js';
import { addEnvironmentStacks, createApp, selectEnvironments, stateMachineDefinitions, synthesizeTemplate, type CfnTemplate } from '../../lib/synth.js';
import { ACCOUNTS, chainEnvironments, ENV_NAMES, HOOKS, REGION, synthChain, type EnvName, type SynthesizedChain } from './chain-fixture.js';
import { functionId, grants, handlerStatements, list, nagText, resourcesOf, SAGEMAKER_SERVING, type Statement } from './fixture.js';

let chain: SynthesizedChain;
beforeAll(() => {
  chain = synthChain({ environments: chainEnvironments({ 'pre-production': { hooks: [...HOOKS] } }) });
});

const json = (env: EnvName): CfnTemplate => chain.stacks[env]!.json;
const root = (account: string) => `arn:aws:iam::${account}:root`;
const busArn = (env: EnvName, account: string) => `arn:<AWS::Partition>:events:${REGION}:${account}:event-bus/${handoverBusName(env === 'production' ? 'builderbrain' : `builderbrain-${env}`)}`;
const previousOf: Record<EnvName, EnvName | null> = { staging: null, 'pre-production': 'staging', production: 'pre-production' };
const nextOf: Record<EnvName, EnvName | null> = { staging: 'pre-production', 'pre-production': 'production', production: null };
const functionsOf = (env: EnvName) =>
  resourcesOf(json(env), 'AWS::Lambda::Function')
    .map(([id]) => id)
    .filter((id) => id.startsWith('Functions'));
const hasFunction = (env: EnvName, handler: HandlerName) => {
  const pascal = handler.replace(/(^|-)([a-z])/g, (_m, _d: string, c: string) => c.toUpperCase());
  return functionsOf(env).some((id) => new RegExp(`^Functions${pascal}[0-9A-F]{8}$`).test(id));
};
const busPolicies = (env: EnvName) => resourcesOf(json(env), 'AWS::Events::EventBusPolicy').map(([, p]) => p.Properties!);
const bucketStatements = (env: EnvName): Statement[] => {
  const [bucketId] = resourcesOf(json(env), 'AWS::S3::Bucket').find(([, b]) => b.Properties?.['NotificationConfiguration'])!;
  const [, policy] = resourcesOf(json(env), 'AWS::S3::BucketPolicy').find(([, p]) => p.Properties!['Bucket'].Ref === bucketId)!;
  return policy.Properties!['PolicyDocument'].Statement as Statement[];
};
const keyStatements = (env: EnvName): Statement[] => resourcesOf(json(env), 'AWS::KMS::Key')[0]![1].Properties!['KeyPolicy'].Statement as Statement[];
/** Principals of Allow statements naming an AWS account (not services, not "*"). */
const accountPrincipals = (statements: readonly Statement[]) =>
  statements.filter((st) => st.Effect === 'Allow').flatMap((st) => list(((st.Principal as { AWS?: unknown } | undefined)?.AWS ?? []) as unknown)).map((p) => nagText(p));

describe('one stack per environment', () => {
  it('three stacks, each in its account and region, named after the pipeline (the last keeps its name)', () => {
    expect(Object.keys(chain.stacks)).toEqual(ENV_NAMES);
    expect(ENV_NAMES.map((e) => chain.stacks[e]!.stack.stackName)).toEqual(['BuilderBrainRelease-staging', 'BuilderBrainRelease-pre-production', 'BuilderBrainRelease']);
    for (const e of ENV_NAMES) {
      expect(chain.stacks[e]!.stack.account).toBe(ACCOUNTS[e]);
      expect(chain.stacks[e]!.stack.region).toBe(REGION);
    }
  });

  it('the stacks share nothing (each deploys into its own account): no import, no export of another', () => {
    for (const e of ENV_NAMES) expect(JSON.stringify(json(e))).not.toContain('Fn::ImportValue');
  });

  it('an environment naming no account or region is environment-agnostic, as the standalone stack is', () => {
    const oneAccount = synthChain({});
    for (const e of ENV_NAMES) {
      expect(Stack.of(oneAccount.stacks[e]!.stack).account).toBe(Aws.ACCOUNT_ID);
      expect(Stack.of(oneAccount.stacks[e]!.stack).region).toBe(Aws.REGION);
    }
  });

  it('each environment gets its own function of the chain\'s steps only where it needs one', () => {
    const chainFunctions = (env: EnvName) => CHAIN_HANDLER_NAMES.filter((h) => hasFunction(env, h));
    expect(chainFunctions('staging')).toEqual(['hand-over']);
    expect(chainFunctions('pre-production')).toEqual(['run-hooks', 'drill', 'hand-over', 'accept-handover']);
    expect(chainFunctions('production')).toEqual(['accept-handover']);
    for (const e of ENV_NAMES) for (const h of HANDLER_NAMES) expect(hasFunction(e, h), `${e} ${h}`).toBe(true);
  });

  it('the drill function only in pre-production (the one environment with rollbackDrill)', () => {
    expect(ENV_NAMES.filter((e) => hasFunction(e, 'drill'))).toEqual(['pre-production']);
  });
});

describe('BB_ENVIRONMENT_JSON', () => {
  const resolved = (env: EnvName, handler: HandlerName): EnvironmentSettings => {
    const value = (json(env).Resources[functionId(json(env), handler)]!.Properties!['Environment'] as { Variables: Record<string, unknown> }).Variables[ENV.environment];
    // Fn::Join of literals and pseudo parameters: the partition is the only one left in a stack with env.
    return JSON.parse(nagText(value).replace(/<AWS::Partition>/g, 'aws')) as EnvironmentSettings;
  };

  it('every function whose step reads the environment gets where it stands in the chain; no other function does', () => {
    for (const e of ENV_NAMES) {
      for (const [id, fn] of resourcesOf(json(e), 'AWS::Lambda::Function').filter(([x]) => x.startsWith('Functions'))) {
        const step = (json(e).Resources[id]!.Metadata as Record<string, string>)['builderbrain:step'] as HandlerName;
        const reads = (STEPS[step].env as readonly string[]).includes('environment');
        expect(Object.keys((fn.Properties!['Environment'] as { Variables: object }).Variables).includes(ENV.environment), `${e} ${step}`).toBe(reads);
      }
    }
  });

  it('names the neighbours: the previous environment by its account, the next by its bus ARN', () => {
    expect(resolved('staging', 'validate-manifest')).toEqual({
      name: 'staging',
      index: 0,
      of: 3,
      previous: null,
      next: { name: 'pre-production', eventBusArn: `arn:aws:events:${REGION}:${ACCOUNTS['pre-production']}:event-bus/builderbrain-pre-production-handover` },
      endpoint: 'sagemaker:builderbrain',
      hooks: [],
      drillMinutes: null,
    });
    const pre = resolved('pre-production', 'run-hooks');
    expect(pre.previous).toEqual({ name: 'staging', account: ACCOUNTS.staging });
    expect(pre.next).toEqual({ name: 'production', eventBusArn: `arn:aws:events:${REGION}:${ACCOUNTS.production}:event-bus/builderbrain-handover` });
    expect(pre.hooks.map((h) => h.functionArn)).toEqual(HOOKS.map((h) => h.functionArn));
    expect(pre.drillMinutes).toBe(5);
    expect(resolved('production', 'accept-handover')).toMatchObject({ name: 'production', index: 2, previous: { name: 'pre-production', account: ACCOUNTS['pre-production'] }, next: null });
  });

  it('the standalone stack tells its steps it is a one-environment chain', () => {
    const t = synthesizeTemplate(parsePipelineConfig({}));
    const id = functionId(t, 'validate-manifest');
    const value = (t.Resources[id]!.Properties!['Environment'] as { Variables: Record<string, unknown> }).Variables[ENV.environment];
    expect(JSON.parse(value as string)).toEqual({ name: 'production', index: 0, of: 1, previous: null, next: null, endpoint: 'sagemaker:builderbrain', hooks: [], drillMinutes: null });
  });

  it('tokens count at their longest in the 4 KB check', () => {
    const stack = new Stack();
    expect(worstCaseBytes(stack, Aws.ACCOUNT_ID)).toBe(12);
    expect(worstCaseBytes(stack, `x${Aws.REGION}y`)).toBe(22);
    expect(worstCaseBytes(stack, 'plain')).toBe(5);
  });

  it('hooks too many and too long for Lambda\'s 4 KB environment fail synth, naming the variable', () => {
    const hooks = Array.from({ length: 10 }, (_, i) => ({
      name: `${String(i)}${'h'.repeat(63)}`,
      functionArn: `arn:aws:lambda:eu-west-1:222222222222:function:${'f'.repeat(63)}${i}:${'a'.repeat(128)}`,
      stage: 'during_phase' as const,
      phases: [50, 100],
    }));
    expect(() => synthChain({ environments: chainEnvironments({ 'pre-production': { hooks } }) })).toThrow(
      /the [a-z-]+ function's environment is \d+ bytes, over Lambda's limit of 4096: shorten the environment's hooks .*BB_ENVIRONMENT_JSON/,
    );
  });
});

describe('BB_BAKE_JSON and BB_RECOVERY_JSON', () => {
  const variable = (t: CfnTemplate, handler: HandlerName, key: string): unknown => {
    const value = (t.Resources[functionId(t, handler)]!.Properties!['Environment'] as { Variables: Record<string, unknown> }).Variables[key];
    return JSON.parse(value as string);
  };

  it('each environment\'s bake function bakes as its own config says: the last for a day, the ones before not at all', () => {
    expect(ENV_NAMES.map((e) => variable(json(e), 'bake', ENV.bake))).toEqual([
      { minutes: 0, lookEveryMinutes: 10, reference: 'day' },
      { minutes: 0, lookEveryMinutes: 10, reference: 'day' },
      { minutes: 1440, lookEveryMinutes: 10, reference: 'day' },
    ]);
    for (const e of ENV_NAMES) expect(variable(json(e), 'recovery', ENV.recovery), e).toEqual({ minutes: 15, settleMinutes: 2, errorRateRatio: 1.5, latencyRatio: 1.25 });
  });

  it('an environment\'s bakeMinutes overrides its default; the promotion\'s timeout makes room for each environment\'s own bake', () => {
    const c = synthChain({ environments: chainEnvironments({ 'pre-production': { hooks: [...HOOKS] }, staging: { bakeMinutes: 30 }, production: { bakeMinutes: 0 } }) });
    expect(variable(c.stacks.staging!.json, 'bake', ENV.bake)).toMatchObject({ minutes: 30 });
    expect(variable(c.stacks.production!.json, 'bake', ENV.bake)).toMatchObject({ minutes: 0 });
    const timeout = (t: CfnTemplate) => stateMachineDefinitions(t).promotion.definition['TimeoutSeconds'] as number;
    expect(timeout(c.stacks.staging!.json) - timeout(json('staging'))).toBe(30 * 60);
    expect(timeout(c.stacks['pre-production']!.json) - timeout(json('pre-production'))).toBe(0);
    expect(timeout(c.stacks.production!.json) - timeout(json('production'))).toBe(-1440 * 60);
  });

  it('the standalone stack bakes as the pipeline config says', () => {
    const t = synthesizeTemplate(parsePipelineConfig({ bake: { minutes: 120, lookEveryMinutes: 5, reference: 'week' }, recovery: { minutes: 30 } }));
    expect(variable(t, 'bake', ENV.bake)).toEqual({ minutes: 120, lookEveryMinutes: 5, reference: 'week' });
    expect(variable(t, 'recovery', ENV.recovery)).toEqual({ minutes: 30, settleMinutes: 2, errorRateRatio: 1.5, latencyRatio: 1.25 });
  });
});

describe('the receiving end: the hand-over bus', () => {
  it('staging (the first environment) has no bus, no rule on one, no accept function, no bus output', () => {
    expect(resourcesOf(json('staging'), 'AWS::Events::EventBus')).toEqual([]);
    expect(busPolicies('staging')).toEqual([]);
    expect(hasFunction('staging', 'accept-handover')).toBe(false);
    expect(Object.keys(json('staging').Outputs ?? {})).not.toContain(CHAIN_OUTPUT_KEYS.handoverBus);
  });

  it.each(['pre-production', 'production'] as const)('%s: a bus named after its prefix, its ARN an output', (env) => {
    const buses = resourcesOf(json(env), 'AWS::Events::EventBus');
    expect(buses).toHaveLength(1);
    const prefix = chain.stacks[env]!.stack.config.prefix;
    expect(buses[0]![1].Properties!['Name']).toBe(handoverBusName(prefix));
    expect(json(env).Outputs?.[CHAIN_OUTPUT_KEYS.handoverBus]).toMatchObject({ Value: { 'Fn::GetAtt': [buses[0]![0], 'Arn'] }, Export: { Name: `${prefix}-HandoverBusArn` } });
  });

  it.each(['pre-production', 'production'] as const)('%s: the bus policy admits PutEvents from the previous account only, of the hand-over source and detail type only', (env) => {
    const previous = ACCOUNTS[previousOf[env]!];
    const policies = busPolicies(env);
    expect(policies).toHaveLength(1);
    const st = policies[0]!['Statement'] as Statement;
    expect(st).toEqual({
      Sid: `cdk-${HANDOVER_POLICY_SID}`,
      Effect: 'Allow',
      Principal: { AWS: root(previous) },
      Action: 'events:PutEvents',
      Resource: { 'Fn::GetAtt': [resourcesOf(json(env), 'AWS::Events::EventBus')[0]![0], 'Arn'] },
      Condition: { StringEquals: { 'events:source': HANDOVER_SOURCE, 'events:detail-type': HANDOVER_DETAIL_TYPE } },
    });
    for (const other of ENV_NAMES.filter((e) => ACCOUNTS[e] !== previous)) expect(JSON.stringify(policies)).not.toContain(ACCOUNTS[other]);
  });

  it.each(['pre-production', 'production'] as const)('%s: the rule matches the previous account and environment, this environment, this model; it invokes accept-handover with retries and a dead-letter queue', (env) => {
    const prev = previousOf[env]!;
    const [busId] = resourcesOf(json(env), 'AWS::Events::EventBus')[0]!;
    const rules = resourcesOf(json(env), 'AWS::Events::Rule').filter(([, r]) => JSON.stringify(r.Properties!['EventBusName'] ?? null) === JSON.stringify({ Ref: busId }));
    expect(rules).toHaveLength(1);
    const rule = rules[0]![1].Properties!;
    expect(rule['EventPattern']).toEqual({
      source: [HANDOVER_SOURCE],
      'detail-type': [HANDOVER_DETAIL_TYPE],
      account: [ACCOUNTS[prev]],
      detail: { from: { environment: [prev] }, to: [env], model: ['builderbrain'] },
    });
    const [target] = rule['Targets'] as Record<string, any>[];
    expect(target!['Arn']).toEqual({ 'Fn::GetAtt': [functionId(json(env), 'accept-handover'), 'Arn'] });
    expect(target!['RetryPolicy']).toEqual({ MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 86400 });
    const dlqId = (target!['DeadLetterConfig'] as { Arn: { 'Fn::GetAtt': [string, string] } }).Arn['Fn::GetAtt'][0];
    // The queue is encrypted with the pipeline's key; its depth pages the pipeline-alarms topic.
    const [keyId] = resourcesOf(json(env), 'AWS::KMS::Key')[0]!;
    expect(json(env).Resources[dlqId]!.Properties!['KmsMasterKeyId']).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    const alarm = resourcesOf(json(env), 'AWS::CloudWatch::Alarm').find(([, a]) => a.Properties!['AlarmName'] === `${chain.stacks[env]!.stack.config.prefix}-handover-dlq`);
    expect(alarm).toBeDefined();
    expect(JSON.stringify(alarm![1].Properties!['Dimensions'])).toContain(dlqId);
    expect(JSON.stringify(alarm![1].Properties!['AlarmActions'])).toContain('PipelineAlarmsTopic');
    // A failed async invocation lands in the same queue.
    const invokeConfig = resourcesOf(json(env), 'AWS::Lambda::EventInvokeConfig').find(([, c]) => c.Properties!['FunctionName'].Ref === functionId(json(env), 'accept-handover'));
    expect(invokeConfig![1].Properties!['DestinationConfig']).toEqual({ OnFailure: { Destination: { 'Fn::GetAtt': [dlqId, 'Arn'] } } });
  });

  it('a chain in one account: the bus admits this very account, the rule matches it', () => {
    const one = synthChain({});
    const t = one.stacks['production']!.json;
    const [, policy] = resourcesOf(t, 'AWS::Events::EventBusPolicy')[0]!;
    expect((policy.Properties!['Statement'] as Statement).Principal).toEqual({ AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':root']] } });
    const rule = resourcesOf(t, 'AWS::Events::Rule').find(([, r]) => r.Properties!['EventBusName'] !== undefined)!;
    expect(rule[1].Properties!['EventPattern']['account']).toEqual([{ Ref: 'AWS::AccountId' }]);
  });
});

describe('the sending end: hand-over and the promoted artifacts', () => {
  it.each(['staging', 'pre-production'] as const)('%s: hand-over may put events on exactly the next environment\'s bus', (env) => {
    const next = nextOf[env]!;
    const g = grants(handlerStatements(json(env), 'hand-over'));
    expect(g['events:PutEvents']).toEqual([busArn(next, ACCOUNTS[next])]);
    // …which is the ARN its handler is told.
    const settings = chain.stacks[env]!.stack.environmentSettings;
    expect(nagText(chain.stacks[env]!.stack.resolve(settings.next!.eventBusArn))).toBe(busArn(next, ACCOUNTS[next]));
    // Nothing else in the stack may put events anywhere.
    const putters = resourcesOf(json(env), 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties).includes('events:PutEvents'));
    expect(putters.map(([id]) => id)).toEqual([expect.stringMatching(/^FunctionsHandOverRoleDefaultPolicy/)]);
  });

  it.each(['staging', 'pre-production'] as const)('%s: the bucket policy lets the next account read this model\'s artifacts, nothing else, and no other account', (env) => {
    const next = ACCOUNTS[nextOf[env]!];
    const forNext = bucketStatements(env).filter((st) => st.Effect === 'Allow' && JSON.stringify(st.Principal ?? {}).includes(next));
    expect(forNext).toEqual([
      {
        Sid: 'NextEnvironmentReadsPromotedArtifacts',
        Effect: 'Allow',
        Principal: { AWS: root(next) },
        Action: 's3:GetObject',
        Resource: { 'Fn::Join': ['', [expect.objectContaining({ 'Fn::GetAtt': [expect.any(String), 'Arn'] }), '/models/builderbrain/*']] },
      },
    ]);
    expect(accountPrincipals(bucketStatements(env))).toEqual([root(next)]);
  });

  it.each(['staging', 'pre-production'] as const)('%s: the key policy lets the next account decrypt through S3 in this region, as itself, only', (env) => {
    const next = ACCOUNTS[nextOf[env]!];
    const forNext = keyStatements(env).filter((st) => JSON.stringify(st.Principal ?? {}).includes(next));
    expect(forNext).toEqual([
      {
        Sid: 'NextEnvironmentDecryptsArtifacts',
        Effect: 'Allow',
        Principal: { AWS: root(next) },
        Action: 'kms:Decrypt',
        Resource: '*',
        Condition: { StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com`, 'kms:CallerAccount': next } },
      },
    ]);
    // The key's own account (its IAM policies), and the next account: no other.
    expect(new Set(accountPrincipals(keyStatements(env)).map((p) => p.replace(/^arn:<AWS::Partition>/, 'arn:aws')))).toEqual(new Set([root(ACCOUNTS[env]), root(next)]));
  });

  it('production (the last) hands over nothing: no hand-over function, no outside account in its bucket or key policy', () => {
    expect(hasFunction('production', 'hand-over')).toBe(false);
    expect(accountPrincipals(bucketStatements('production'))).toEqual([]);
    expect(keyStatements('production').filter((st) => JSON.stringify(st.Principal ?? {}).match(/1111|2222/))).toEqual([]);
  });

  it('a chain in one account: IAM suffices, so no bucket-policy or key-policy statement names an account', () => {
    const one = synthChain({});
    for (const e of ENV_NAMES) {
      const t = one.stacks[e]!.json;
      expect(JSON.stringify(resourcesOf(t, 'AWS::S3::BucketPolicy'))).not.toContain('NextEnvironmentReadsPromotedArtifacts');
      expect(JSON.stringify(resourcesOf(t, 'AWS::KMS::Key'))).not.toContain('NextEnvironmentDecryptsArtifacts');
    }
  });
});

describe('accept-handover', () => {
  it.each(['pre-production', 'production'] as const)('%s: reads the previous account\'s artifacts of this model only, decrypting through S3 only; writes this model\'s objects of its own bucket', (env) => {
    const previous = ACCOUNTS[previousOf[env]!];
    const statements = handlerStatements(json(env), 'accept-handover');
    const [bucketId] = resourcesOf(json(env), 'AWS::S3::Bucket').find(([, b]) => b.Properties?.['NotificationConfiguration'])!;
    const [keyId] = resourcesOf(json(env), 'AWS::KMS::Key')[0]!;
    const get = statements.filter((st) => list(st.Action).includes('s3:GetObject'));
    expect(get.map((st) => ({ ...st, Resource: nagText(st.Resource) }))).toEqual([
      // The stack's partition: a literal where its region is named.
      { Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::*/models/builderbrain/*', Condition: { StringEquals: { 's3:ResourceAccount': previous } } },
    ]);
    const upstreamKeys = statements.filter((st) => nagText(st.Resource).includes(`:kms:${REGION}:${previous}:`));
    expect(upstreamKeys.map((st) => ({ ...st, Resource: nagText(st.Resource) }))).toEqual([
      { Effect: 'Allow', Action: 'kms:Decrypt', Resource: `arn:aws:kms:${REGION}:${previous}:key/*`, Condition: { StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } } },
    ]);
    const g = grants(statements);
    expect(g['s3:PutObject']).toEqual([`<${bucketId}.Arn>/models/builderbrain/*`]);
    expect(g['s3:AbortMultipartUpload']).toEqual([`<${bucketId}.Arn>/models/builderbrain/*`]);
    const ownKey = statements.filter((st) => nagText(st.Resource) === `<${keyId}.Arn>` && JSON.stringify(st.Condition).includes('s3.'));
    expect(ownKey).toEqual([{ Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: { 'Fn::GetAtt': [keyId, 'Arn'] }, Condition: { StringEquals: { 'kms:ViaService': `s3.${REGION}.amazonaws.com` } } }]);
    // It records the hand-over (HANDOVER# partition); no other role of the stack may write there.
    const put = statements.find((st) => list(st.Action).includes('dynamodb:PutItem'))!;
    expect((put.Condition!['ForAllValues:StringLike'] as Record<string, string[]>)['dynamodb:LeadingKeys']).toContain('HANDOVER#*');
    const handoverWriters = resourcesOf(json(env), 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties).includes('HANDOVER#'));
    expect(handoverWriters.map(([id]) => id)).toEqual([expect.stringMatching(/^FunctionsAcceptHandoverRoleDefaultPolicy/)]);
    // A refused hand-over pages: the incident topic.
    expect(g['sns:Publish']).toEqual([expect.stringContaining('IncidentTopic')]);
  });

  it('no other account, and no other model, appears in its grants', () => {
    const text = JSON.stringify(handlerStatements(json('production'), 'accept-handover'));
    expect(text).not.toContain(ACCOUNTS.staging);
    expect(text).not.toContain(ACCOUNTS.production);
    expect(text).not.toMatch(/models\/(?!builderbrain\/)/);
  });
});

describe('verification hooks', () => {
  it('run-hooks may invoke exactly the configured hook ARNs (a qualified ARN as such), nothing else', () => {
    const g = grants(handlerStatements(json('pre-production'), 'run-hooks'));
    expect(g['lambda:InvokeFunction']).toEqual(HOOKS.map((h) => h.functionArn).sort());
    expect(Object.keys(g).filter((a) => a.startsWith('lambda:'))).toEqual(['lambda:InvokeFunction']);
  });

  it('no hook function where no hooks are configured', () => {
    expect(hasFunction('staging', 'run-hooks')).toBe(false);
    expect(hasFunction('production', 'run-hooks')).toBe(false);
    const none = synthChain({ environments: chainEnvironments() });
    for (const e of ENV_NAMES) {
      expect(functionsOf(e).length).toBeGreaterThan(0);
      expect(resourcesOf(none.stacks[e]!.json, 'AWS::Lambda::Function').filter(([id]) => id.startsWith('FunctionsRunHooks'))).toEqual([]);
    }
  });

  it('the state machines invoke run-hooks where hooks exist: the promotion before traffic, the canary during phases', () => {
    const roleInvokes = (prefix: string) => {
      const [, policy] = resourcesOf(json('pre-production'), 'AWS::IAM::Policy').find(([, p]) => (p.Properties!['Roles'] as { Ref: string }[])[0]!.Ref.startsWith(prefix))!;
      return JSON.stringify(policy.Properties!['PolicyDocument']);
    };
    const runHooks = functionId(json('pre-production'), 'run-hooks');
    expect(roleInvokes('PromotionRole')).toContain(runHooks);
    expect(roleInvokes('CanaryRole')).toContain(runHooks);
    expect(roleInvokes('CanaryRole')).toContain(functionId(json('pre-production'), 'drill'));
    expect(roleInvokes('PromotionRole')).toContain(functionId(json('pre-production'), 'hand-over'));
  });
});

/** Synthesizes the chain with validation plugins; the synth error (null: none) and every violation left. */
function validateChain(environments: unknown, plugins: { nag?: boolean; guard?: boolean }): { error: string | null; violations: unknown[]; suppressed: number } {
  const outdir = mkdtempSync(join(tmpdir(), 'bb-chain-validate-'));
  const app = createApp({ bundling: false, builtinValidation: false, nag: plugins.nag === true, outdir });
  if (plugins.guard === true) Validations.of(app).addPlugins(new CfnGuardValidator());
  addEnvironmentStacks(
    app,
    parsePipelineConfig({
      environments,
      notifications: {
        incident: [{ protocol: 'email', endpoint: 'oncall@example.com', severities: ['P0', 'P1'] }],
        pipelineAlarms: [{ protocol: 'https', endpoint: 'https://pager.example.com/hook' }],
      },
      deployment: { sagemaker: SAGEMAKER_SERVING },
    }),
  );
  let error: string | null = null;
  try {
    app.synth();
  } catch (err) {
    error = (err as Error).message;
  }
  const file = join(outdir, 'validation-report.json');
  type Report = { pluginReports: { violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[]; suppressedViolations?: unknown[] }[] };
  const report = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Report) : { pluginReports: [] };
  return {
    error,
    violations: report.pluginReports.flatMap((r) => r.violations.map((v) => `${v.ruleName}: ${v.violatingConstructs.map((c) => c.constructPath).join(', ')}`)),
    suppressed: report.pluginReports.flatMap((r) => r.suppressedViolations ?? []).length,
  };
}

describe('validation', () => {
  it('cdk-nag AwsSolutions: all three stacks (each in its account and region) synthesize with no unsuppressed finding', () => {
    const r = validateChain(chainEnvironments({ 'pre-production': { hooks: [...HOOKS] } }), { nag: true });
    expect(r.error).toBeNull();
    expect(r.violations).toEqual([]);
    expect(r.suppressed).toBeGreaterThan(0);
  });

  it('cdk-nag AwsSolutions: the chain in one account (environment-agnostic stacks) too', () => {
    const r = validateChain(undefined, { nag: true });
    expect(r.error).toBeNull();
    expect(r.violations).toEqual([]);
  });

  it('Control Tower proactive controls (cfn-guard): no unacknowledged violation in any of the three stacks', () => {
    const r = validateChain(chainEnvironments({ 'pre-production': { hooks: [...HOOKS] } }), { guard: true });
    expect(r.error).toBeNull();
    expect(r.violations).toEqual([]);
  }, 120_000);

  it('every identity-policy statement on a key carries kms:ViaService (the previous account\'s keys: through S3 only)', () => {
    for (const e of ENV_NAMES) {
      for (const [id, p] of resourcesOf(json(e), 'AWS::IAM::Policy')) {
        for (const st of (p.Properties!['PolicyDocument'].Statement as Statement[]).filter((x) => list(x.Action).some((a) => a.startsWith('kms:')))) {
          expect(st.Condition?.['StringEquals'], `${e} ${id}`).toHaveProperty(['kms:ViaService']);
        }
      }
    }
  });

  it('the state machine definitions of a chain stack resolve for the local runtime, each chain task mapped to its step', () => {
    const defs = stateMachineDefinitions(synthesizeTemplate(parsePipelineConfig({ environments: chainEnvironments({ 'pre-production': { hooks: [...HOOKS] } }) }), { environment: 'pre-production' }));
    const handlers = new Set([...Object.values(defs.promotion.handlerForTask), ...Object.values(defs.canary.handlerForTask)]);
    for (const h of ['run-hooks', 'drill', 'hand-over'] as const) expect(handlers.has(h), h).toBe(true);
    expect(Object.values(defs.functionArns)).toContain('accept-handover');
  });
});

describe('the chain\'s config', () => {
  const issues = (input: unknown) => {
    try {
      const config = parsePipelineConfig(input);
      environmentPipelines(config);
    } catch (err) {
      if (err instanceof InvalidInputError) return err.issues.map((i) => `${i.path}: ${i.message}`);
      throw err;
    }
    return [];
  };

  it('duplicate environment names fail, naming the field', () => {
    expect(issues({ environments: [{ name: 'staging' }, { name: 'staging' }] })).toEqual([expect.stringMatching(/^environments\[1\]\.name: .*already/)]);
  });

  it('an account named for some environments but not all fails, naming each missing one', () => {
    expect(issues({ environments: [{ name: 'staging', account: '111111111111' }, { name: 'production' }] })).toEqual([expect.stringMatching(/^environments\[1\]\.account: required/)]);
  });

  it('a prefix too long for an earlier environment\'s resources fails, naming the environment', () => {
    expect(issues({ prefix: 'a-rather-long-pipeline-prefix', environments: [{ name: 'pre-production' }, { name: 'production' }] })).toEqual([
      expect.stringMatching(/^environments\[0\]\.name: .*over 30 chars/),
    ]);
  });

  it('builderbrainEnvironments selects environments by name, in chain order; an unknown name fails, listing the chain\'s', () => {
    const config = parsePipelineConfig({});
    expect(selectEnvironments(config, undefined)).toEqual(ENV_NAMES);
    expect(selectEnvironments(config, 'production, staging')).toEqual(['staging', 'production']);
    expect(() => selectEnvironments(config, 'staging,qa')).toThrow(/no environment named "qa": the chain's are staging, pre-production, production/);
  });

  it('the CDK app (bin/app.ts) fails on a chain error with the field named and no stack trace', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ builderbrain: { environments: [{ name: 'staging', account: '111111111111' }, { name: 'staging' }] } }),
        CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'bb-cdkout-')),
      },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('environments[1].name: "staging" is already');
    expect(run.stderr).toContain('environments[1].account: required');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('the CDK app refuses an environment that could not deploy its model, naming the environment and the field', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ builderbrain: {}, builderbrainEnvironments: 'staging' }),
        CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'bb-cdkout-')),
      },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('environment staging: deployment.sagemaker: required for a SageMaker endpoint');
    expect(run.stderr).not.toContain('environment production');
  });
});

describe('synthesizeTemplate', () => {
  it('with `environment`, that environment\'s stack of the chain; without, the standalone stack', () => {
    const config = parsePipelineConfig({ environments: chainEnvironments() });
    const production = synthesizeTemplate(config, { environment: 'production' });
    expect(resourcesOf(production, 'AWS::Events::EventBus')).toHaveLength(1);
    const standalone = synthesizeTemplate(config);
    expect(resourcesOf(standalone, 'AWS::Events::EventBus')).toEqual([]);
    expect(resourcesOf(standalone, 'AWS::Lambda::Function').filter(([id]) => id.startsWith('Functions'))).toHaveLength(HANDLER_NAMES.length);
  });
});
