import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALARM_POLICY } from '../../core/alarms.js';
import { BAKE_EVENTS_PER_LOOK, BAKE_FIXED_EVENTS, bakeHistoryEvents, HISTORY_BUDGET_EVENTS, historyBudgetIssues, servingHistoryEvents } from '../../core/budgets.js';
import { DEFAULT_HOTFIX_PHASES } from '../../core/hotfix.js';
import { DEFAULT_MAX_LOOKS_PER_PHASE, DEFAULT_PHASES, estimateHistoryEvents } from '../../core/plan.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import { LAMBDA_ENVIRONMENT_MAX_BYTES } from '../../lib/pipeline-functions.js';
import {
  canaryTimeoutMinutes,
  DEFAULT_PIPELINE_CONFIG,
  deepMerge,
  deployabilityIssues,
  environmentPipelines,
  HISTORY_BUDGET_SHARE,
  loadPipelineConfig,
  parsePipelineConfig,
  promotionTimeoutMinutes,
  STEP_FUNCTIONS_HISTORY_LIMIT,
} from '../../lib/config.js';
import { LAMBDA_ROUTER, SAGEMAKER_SERVING, synth } from './fixture.js';

const context = (values: Record<string, unknown>) => ({ tryGetContext: (k: string) => values[k] });

/** The message of what `fn` throws. */
function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected a failure');
}

describe('PipelineConfig defaults', () => {
  it('documents every default', () => {
    expect(DEFAULT_PIPELINE_CONFIG).toMatchObject({
      stackName: 'BuilderBrainRelease',
      prefix: 'builderbrain',
      modelName: 'builderbrain',
      phases: DEFAULT_PHASES,
      maxLooksPerPhase: DEFAULT_MAX_LOOKS_PER_PHASE,
      approvalTimeoutMinutes: 1440,
      policy: DEFAULT_POLICY,
      router: { kind: 'sagemaker', endpointName: 'builderbrain', baselineVariant: 'baseline', canaryVariant: 'canary' },
      metricsNamespace: 'BuilderBrain/Serving',
      notifications: { incident: [], approvals: [], pipelineAlarms: [] },
      retention: { logRetentionDays: 90, artifactNoncurrentVersionDays: 365 },
      functions: {},
    });
    expect(DEFAULT_PIPELINE_CONFIG.alarms).toEqual(DEFAULT_ALARM_POLICY);
    // Opt-in: an account at the default concurrency quota refuses any reservation.
    expect(DEFAULT_PIPELINE_CONFIG.functions.rollbackReservedConcurrency).toBeUndefined();
  });

  it('fills nested defaults around a partial override', () => {
    const c = parsePipelineConfig({ policy: { canary: { errorRateRatio: 2 } }, alarms: { latencyP99Ratio: 1.3 } });
    expect(c.policy.canary.errorRateRatio).toBe(2);
    expect(c.policy.canary.latencyRatioCritical).toBe(1.2);
    expect(c.policy.gates).toEqual(DEFAULT_POLICY.gates);
    expect(c.alarms).toEqual({ ...DEFAULT_ALARM_POLICY, latencyP99Ratio: 1.3 });
  });

  it('applies a default severity list to incident subscriptions', () => {
    const c = parsePipelineConfig({ notifications: { incident: [{ protocol: 'email', endpoint: 'oncall@example.com' }] } });
    expect(c.notifications.incident[0]!.severities).toEqual(['P0', 'P1', 'P2', 'P3']);
  });
});

describe('a bad config names the field path', () => {
  it.each([
    [{ phases: [{ weight: 1, monitorMinutes: 60, requiresApproval: true }] }, 'phases[0].weight'],
    [{ approvalTimeoutMinutes: 1 }, 'approvalTimeoutMinutes'],
    [{ policy: { canary: { errorRateRatio: 0.5 } } }, 'policy.canary.errorRateRatio'],
    [{ router: { kind: 'sagemaker', endpointName: '' } }, 'router.endpointName'],
    [{ notifications: { incident: [{ protocol: 'email', endpoint: 'not-an-email', severities: ['P0'] }] } }, 'notifications.incident[0].endpoint'],
    [{ notifications: { incident: [{ protocol: 'https', endpoint: 'https://x.example', severities: ['P9'] }] } }, 'notifications.incident[0].severities[0]'],
    [{ alarms: { errorRateRatio: 0.9 } }, 'alarms.errorRateRatio'],
    [{ retention: { logRetentionDays: 91 } }, 'retention.logRetentionDays'],
    [{ modelName: 'BuilderBrain' }, 'modelName'],
    [{ prefix: 'Has Spaces' }, 'prefix'],
    [{ unknownField: true }, 'unknownField'],
  ])('%j → %s', (input, path) => {
    const message = failure(() => parsePipelineConfig(input));
    expect(message).toContain(`${path}:`);
    expect(message).not.toMatch(/ZodError|"code":/);
  });

  it('refuses a plan whose history could approach the Step Functions limit', () => {
    const phases = [
      { weight: 10, monitorMinutes: 10080, requiresApproval: true },
      { weight: 50, monitorMinutes: 10080, requiresApproval: true },
      { weight: 100, monitorMinutes: 10080, requiresApproval: false },
    ];
    const message = failure(() => parsePipelineConfig({ phases, maxLooksPerPhase: 1000 }));
    expect(message).toContain('maxLooksPerPhase:');
    expect(message).toContain(`${STEP_FUNCTIONS_HISTORY_LIMIT * HISTORY_BUDGET_SHARE}`);
  });

  it('fails the CDK app (bin/app.ts) with the path and no stack trace', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: {
        ...process.env,
        CDK_CONTEXT_JSON: JSON.stringify({ builderbrain: { maxLooksPerPhase: 0, phases: [{ weight: 50, monitorMinutes: 60, requiresApproval: true }] } }),
        CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'bb-cdkout-')),
      },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('maxLooksPerPhase: ');
    expect(run.stderr).toContain('phases[0].weight: the last phase must carry 100% of traffic');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});

describe('history bound', () => {
  it('the bake counts 9 events a look (Wait 2, Task 5, Choice 2) on top of the serving loops, against the promotion\'s budget', () => {
    expect(BAKE_EVENTS_PER_LOOK).toBe(9);
    // defaults: a 24-hour bake looked at every 10 minutes: 144 looks.
    expect(bakeHistoryEvents(DEFAULT_PIPELINE_CONFIG.bake)).toBe(144 * 9 + BAKE_FIXED_EVENTS);
    expect(servingHistoryEvents(DEFAULT_PIPELINE_CONFIG.deployment) + bakeHistoryEvents(DEFAULT_PIPELINE_CONFIG.bake)).toBeLessThan(HISTORY_BUDGET_EVENTS);
    expect(historyBudgetIssues(DEFAULT_PIPELINE_CONFIG)).toEqual([]);
    // A part of a look is a look.
    expect(bakeHistoryEvents({ minutes: 25, lookEveryMinutes: 10 })).toBe(3 * 9 + BAKE_FIXED_EVENTS);
    expect(bakeHistoryEvents({ minutes: 0, lookEveryMinutes: 10 })).toBe(BAKE_FIXED_EVENTS);
  });

  it('refuses a bake whose looks would take the promotion past its history budget, naming bake.lookEveryMinutes', () => {
    // A week looked at every 2 minutes: 5,040 looks.
    const message = failure(() => parsePipelineConfig({ bake: { minutes: 7 * 1440, lookEveryMinutes: 2 } }));
    expect(message).toContain('bake.lookEveryMinutes: looking every 2 min during a 10080-minute bake needs up to');
    expect(message).toContain(`over the promotion's budget of ${HISTORY_BUDGET_EVENTS}`);
    // The same week looked at hourly fits.
    expect(() => parsePipelineConfig({ bake: { minutes: 7 * 1440, lookEveryMinutes: 60 } })).not.toThrow();
    // Serving loops already over the budget are named alone (their fix comes first).
    const issues = historyBudgetIssues({ ...DEFAULT_PIPELINE_CONFIG, deployment: { ...DEFAULT_PIPELINE_CONFIG.deployment, pollSeconds: 5, timeoutMinutes: 240 } });
    expect(issues.map((i) => i.path.join('.'))).toEqual(['deployment.pollSeconds']);
    // Without a bake, nothing is counted for it.
    const c = DEFAULT_PIPELINE_CONFIG;
    expect(historyBudgetIssues({ phases: c.phases, maxLooksPerPhase: c.maxLooksPerPhase, deployment: c.deployment, bake: { minutes: 7 * 1440, lookEveryMinutes: 2 } })).toHaveLength(1);
    expect(historyBudgetIssues({ phases: c.phases, maxLooksPerPhase: c.maxLooksPerPhase, deployment: c.deployment })).toEqual([]);
  });

  it('a longer bake needs rarer looks: three days every 10 minutes is over the budget, every 30 minutes fits', () => {
    // 432 looks × 9 + 26 + the serving loops' 2,196 = 6,110; 144 looks: 3,518.
    expect(() => parsePipelineConfig({ bake: { minutes: 3 * 1440, lookEveryMinutes: 10 } })).toThrow(/bake\.lookEveryMinutes/);
    expect(() => parsePipelineConfig({ bake: { minutes: 3 * 1440, lookEveryMinutes: 30 } })).not.toThrow();
  });

  it('four 24-hour phases stay far below 25,000 events', () => {
    const phases = [1, 10, 50, 100].map((weight) => ({ weight, monitorMinutes: 1440, requiresApproval: weight < 100 }));
    const events = estimateHistoryEvents(phases, DEFAULT_MAX_LOOKS_PER_PHASE);
    expect(events).toBeLessThan(STEP_FUNCTIONS_HISTORY_LIMIT * HISTORY_BUDGET_SHARE);
    expect(events).toBeLessThan(5_000);
    expect(() => parsePipelineConfig({ phases })).not.toThrow();
  });
});

describe('loading from context and file', () => {
  it('reads the context object, or its JSON text', () => {
    expect(loadPipelineConfig(context({ builderbrain: { modelName: 'other-model' } })).modelName).toBe('other-model');
    expect(loadPipelineConfig(context({ builderbrain: '{"approvalTimeoutMinutes": 60}' })).approvalTimeoutMinutes).toBe(60);
    expect(loadPipelineConfig(context({})).modelName).toBe('builderbrain');
  });

  it('puts the file on top of the context, field by field', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bb-config-'));
    writeFileSync(join(dir, 'prod.json'), JSON.stringify({ alarms: { errorRateRatio: 3 } }));
    const c = loadPipelineConfig(
      context({ builderbrain: { modelName: 'm1', alarms: { minCanaryRequests: 80 } }, builderbrainConfig: 'prod.json' }),
      dir,
    );
    expect(c.modelName).toBe('m1');
    expect(c.alarms.minCanaryRequests).toBe(80);
    expect(c.alarms.errorRateRatio).toBe(3);
  });

  it('names the file and the field when the file is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bb-config-'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ phases: [] }));
    writeFileSync(join(dir, 'broken.json'), '{ not json');
    expect(failure(() => loadPipelineConfig(context({ builderbrainConfig: 'bad.json' }), dir))).toMatch(/bad\.json.*phases: /s);
    expect(failure(() => loadPipelineConfig(context({ builderbrainConfig: 'broken.json' }), dir))).toMatch(/broken\.json.*not valid JSON/s);
    expect(failure(() => loadPipelineConfig(context({ builderbrainConfig: 'missing.json' }), dir))).toMatch(/missing\.json.*cannot be read/s);
  });

  it('merges objects and replaces arrays', () => {
    expect(deepMerge({ a: { b: 1, c: [1, 2] } }, { a: { c: [3] } })).toEqual({ a: { b: 1, c: [3] } });
  });

  it("a router of another kind in the file replaces cdk.json's router whole (examples/pipeline/lambda.json on the default context)", () => {
    const cdkJson = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
    const root = join(import.meta.dirname, '..', '..');
    const config = loadPipelineConfig(context({ ...cdkJson.context, builderbrainConfig: 'examples/pipeline/lambda.json' }), root);
    expect(config.router).toEqual({ kind: 'lambda-alias', functionName: 'builderbrain-serving', liveAlias: 'live', candidateAlias: 'candidate' });
    // the same kind still merges field by field
    expect(deepMerge({ router: { kind: 'sagemaker', endpointName: 'a', baselineVariant: 'b' } }, { router: { kind: 'sagemaker', endpointName: 'x' } })).toEqual({
      router: { kind: 'sagemaker', endpointName: 'x', baselineVariant: 'b' },
    });
    // and both example configs are complete deployable configs
    const sm = loadPipelineConfig(context({ ...cdkJson.context, builderbrainConfig: 'examples/pipeline/sagemaker.json' }), root);
    expect(deployabilityIssues(sm)).toEqual([]);
  });
});

describe('derived timeouts', () => {
  it('bound a canary execution by monitoring plus one approval per phase', () => {
    expect(canaryTimeoutMinutes(DEFAULT_PIPELINE_CONFIG)).toBe(4 * 60 + 4 * 1440 + 60 + 40);
  });

  it('bound a promotion execution by the canary, three serving loops, the bake period, the bake, the recovery wait and two hours (core/budgets.ts)', () => {
    const c = DEFAULT_PIPELINE_CONFIG;
    expect(c.bake).toEqual({ minutes: 1440, lookEveryMinutes: 10, reference: 'day' });
    expect(c.recovery).toMatchObject({ minutes: 15, settleMinutes: 2 });
    expect(promotionTimeoutMinutes(c, c.deployment)).toBe(canaryTimeoutMinutes(c) + 3 * 60 + 60 + 1440 + (2 + 15) + 120);
    // Without a bake or a recovery check (an earlier environment of the chain bakes 0 minutes), only the canary and the serving loops.
    const none = parsePipelineConfig({ bake: { minutes: 0 }, recovery: { minutes: 0, settleMinutes: 0 } });
    expect(promotionTimeoutMinutes(none, none.deployment)).toBe(canaryTimeoutMinutes(c) + 3 * 60 + 60 + 120);
  });
});

describe('deployment', () => {
  const sample = (over: Record<string, unknown> = {}) => ({ name: 'hello', body: '{"prompt":"hi"}', ...over });

  it('defaults: 60-minute timeout, 30-second polls, a 60-minute bake, no smoke samples, no SageMaker serving', () => {
    expect(DEFAULT_PIPELINE_CONFIG.deployment).toEqual({
      lambda: { delivery: { kind: 'environment', uriVariable: 'MODEL_URI', sha256Variable: 'MODEL_SHA256', versionVariable: 'MODEL_VERSION' } },
      smoke: [],
      timeoutMinutes: 60,
      pollSeconds: 30,
      bakeMinutes: 60,
    });
    expect(DEFAULT_PIPELINE_CONFIG.deployment.sagemaker).toBeUndefined();
  });

  it('fills the defaults of a SageMaker section and of a smoke sample', () => {
    const c = parsePipelineConfig({ deployment: { sagemaker: SAGEMAKER_SERVING, smoke: [sample()] } });
    expect(c.deployment.sagemaker).toEqual({ ...SAGEMAKER_SERVING, instanceCount: 1, allowedInstanceTypes: [], environment: {} });
    expect(c.deployment.smoke).toEqual([{ name: 'hello', contentType: 'application/json', body: '{"prompt":"hi"}', expect: { maxLatencyMs: 10_000 } }]);
  });

  it.each([
    ['deployment.smoke[0].body', 'must be at most 16384 bytes', { deployment: { smoke: [sample({ body: 'x'.repeat(16 * 1024 + 1) })] } }],
    ['deployment.smoke', 'the smoke bodies together must be at most 65536 bytes', { deployment: { smoke: [0, 1, 2, 3, 4].map((i) => sample({ name: `s${i}`, contentType: 'text/plain', body: 'x'.repeat(15 * 1024) })) } }],
    ['deployment.smoke[0].name', 'must be 1-64 chars', { deployment: { smoke: [sample({ name: 'no/slashes' })] } }],
    ['deployment.smoke[0].expect.maxLatencyMs', '', { deployment: { smoke: [sample({ expect: { maxLatencyMs: 0 } })] } }],
    ['deployment.timeoutMinutes', '', { deployment: { timeoutMinutes: 1 } }],
    ['deployment.pollSeconds', '', { deployment: { pollSeconds: 1 } }],
    ['deployment.sagemaker.image', 'must be an ECR image URI', { deployment: { sagemaker: { ...SAGEMAKER_SERVING, image: 'docker.io/bb:1' } } }],
    ['deployment.sagemaker.executionRoleArn', 'must be an IAM role ARN', { deployment: { sagemaker: { ...SAGEMAKER_SERVING, executionRoleArn: 'bb-serving' } } }],
    ['deployment.sagemaker.instanceType', 'must be a SageMaker instance type', { deployment: { sagemaker: { ...SAGEMAKER_SERVING, instanceType: 'g5.xlarge' } } }],
    ['deployment.sagemaker.maxInstanceCount', 'must be at least instanceCount (3)', { deployment: { sagemaker: { ...SAGEMAKER_SERVING, instanceCount: 3, maxInstanceCount: 2 } } }],
  ])('%s: %s', (path, message, input) => {
    const text = failure(() => parsePipelineConfig(input));
    expect(text).toContain(`${path}: ${message}`);
    expect(text).not.toMatch(/ZodError|"code":/);
  });

  // The next two are checked after parsing (core/deployment.ts checkSmokeSchemas).
  it('a JSON body that is not JSON is rejected, naming the sample', () => {
    const text = failure(() => parsePipelineConfig({ deployment: { smoke: [sample(), sample({ name: 'broken', body: '{"prompt":', expect: { jsonSchema: { type: 'object' } } })] } }));
    expect(text).toContain('deployment.smoke[1].body: is not JSON although contentType is application/json');
    expect(text).not.toMatch(/smoke(\[0\]|\.0)/);
    // Not JSON is fine for another content type.
    expect(() => parsePipelineConfig({ deployment: { smoke: [sample({ contentType: 'text/plain', body: 'ping' })] } })).not.toThrow();
  });

  it('an expected shape that is not a valid JSON Schema is rejected, naming it', () => {
    for (const jsonSchema of [{ type: 'nonsense' }, { $ref: 'https://example.com/schema.json' }]) {
      const text = failure(() => parsePipelineConfig({ deployment: { smoke: [sample(), sample({ name: 'shape', expect: { jsonSchema } })] } }));
      expect(text).toContain('deployment.smoke[1].expect.jsonSchema: is not a valid JSON Schema');
    }
    expect(() => parsePipelineConfig({ deployment: { smoke: [sample({ expect: { jsonSchema: { type: 'object', required: ['completion'], properties: { completion: { type: 'string' } } } } })] } })).not.toThrow();
  });

  it('a JSON body that is not JSON is rejected even when the sample has no expected shape', () => {
    const text = failure(() => parsePipelineConfig({ deployment: { smoke: [sample({ body: '{"prompt":' })] } }));
    expect(text).toContain('deployment.smoke[0].body: is not JSON');
  });
  it('smoke-sample issue paths are written like every other config path (deployment.smoke[0].…)', () => {
    const text = failure(() => parsePipelineConfig({ deployment: { smoke: [sample({ expect: { jsonSchema: { type: 'nonsense' } } })] } }));
    expect(text).toContain('deployment.smoke[0].expect.jsonSchema: ');
  });

  it('serving loops that could outgrow the execution history budget are refused, naming pollSeconds', () => {
    // defaults: 60 min every 30 s → 2 × 122 × 9 events, well inside 5,000
    expect(() => parsePipelineConfig({})).not.toThrow();
    const text = failure(() => parsePipelineConfig({ deployment: { pollSeconds: 5, timeoutMinutes: 240 } }));
    expect(text).toContain('deployment.pollSeconds: checking every 5 s for up to 240 min needs up to');
    // Every minute for 240 minutes fits alone (2 × 242 × 9 = 4,356 events); the default bake's 1,322 on top do not, named as such.
    expect(failure(() => parsePipelineConfig({ deployment: { pollSeconds: 60, timeoutMinutes: 240 } }))).toContain('bake.lookEveryMinutes: ');
    expect(() => parsePipelineConfig({ deployment: { pollSeconds: 60, timeoutMinutes: 240 }, bake: { lookEveryMinutes: 60 } })).not.toThrow();
  });

  it('deployabilityIssues: a SageMaker router needs deployment.sagemaker; a Lambda router does not', () => {
    const issues = deployabilityIssues(parsePipelineConfig({}));
    expect(issues).toEqual([{ path: 'deployment.sagemaker', message: expect.stringContaining('required for a SageMaker endpoint') }]);
    expect(issues[0]!.message).toMatch(/image.*executionRoleArn.*instanceType/);
    expect(deployabilityIssues(parsePipelineConfig({ deployment: { sagemaker: SAGEMAKER_SERVING } }))).toEqual([]);
    expect(deployabilityIssues(parsePipelineConfig({ router: LAMBDA_ROUTER }))).toEqual([]);
  });

  it('the CDK app (bin/app.ts) refuses a SageMaker router without deployment.sagemaker, naming the field, no stack trace', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ builderbrain: {} }), CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'bb-cdkout-')) },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('deployment.sagemaker: required for a SageMaker endpoint');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('a serving environment that pushes the serving function past Lambda\'s 4 KB fails synth, naming the limit', () => {
    const environment = Object.fromEntries([1, 2, 3, 4].map((i) => [`VAR_${i}`, 'x'.repeat(1000)]));
    const big = parsePipelineConfig({ deployment: { sagemaker: { ...SAGEMAKER_SERVING, environment } } });
    expect(LAMBDA_ENVIRONMENT_MAX_BYTES).toBe(4096);
    expect(() => synth(big)).toThrow(/the serving function's environment is \d+ bytes, over Lambda's limit of 4096: shorten deployment\.sagemaker\.environment/);
    // A modest environment fits.
    const fits = synth({ deployment: { sagemaker: { ...SAGEMAKER_SERVING, environment: { LOG_LEVEL: 'info', MAX_BATCH: '8' } } } });
    expect(fits.config.deployment.sagemaker!.environment).toEqual({ LOG_LEVEL: 'info', MAX_BATCH: '8' });
  });
});

describe('hotfixPhases', () => {
  it('defaults to 10% for 15 min (approval) → 100% for 15 min; null runs `phases` for hotfixes', () => {
    expect(DEFAULT_PIPELINE_CONFIG.hotfixPhases).toEqual(DEFAULT_HOTFIX_PHASES);
    expect(DEFAULT_HOTFIX_PHASES).toEqual([
      { weight: 10, monitorMinutes: 15, requiresApproval: true },
      { weight: 100, monitorMinutes: 15, requiresApproval: false },
    ]);
    expect(parsePipelineConfig({ hotfixPhases: null }).hotfixPhases).toBeNull();
  });

  it.each([
    ['not a plan', [{ weight: 10, monitorMinutes: 15, requiresApproval: true }], 'hotfixPhases[0].weight: the last phase must carry 100% of traffic'],
    ['no approval before 100%', [{ weight: 10, monitorMinutes: 15, requiresApproval: false }, { weight: 100, monitorMinutes: 15, requiresApproval: false }], 'hotfixPhases: no phase before the last requires approval'],
    ['one 100% phase', [{ weight: 100, monitorMinutes: 15, requiresApproval: false }], 'hotfixPhases: no phase before the last requires approval'],
  ])('refuses a hotfix plan with %s, naming hotfixPhases', (_, hotfixPhases, expected) => {
    expect(failure(() => parsePipelineConfig({ hotfixPhases }))).toContain(expected);
  });

  it('a one-phase `phases` keeps the default hotfix plan: the canary machine\'s timeout covers the longer hotfix plan', () => {
    const phases = [{ weight: 100, monitorMinutes: 30, requiresApproval: false }];
    expect(parsePipelineConfig({ phases }).hotfixPhases).toEqual(DEFAULT_HOTFIX_PHASES);
  });

  it('the chain: environments with a plan of their own run it for hotfixes; the expedited plan is the pipeline\'s', () => {
    const byName = Object.fromEntries(environmentPipelines(parsePipelineConfig({})).map((p) => [p.environment.name, p.config.hotfixPhases]));
    expect(byName).toEqual({ staging: null, 'pre-production': null, production: DEFAULT_HOTFIX_PHASES });
  });

  it('refuses a hotfix plan that would skip a verification hook of the environment', () => {
    const hooks = [{ name: 'load test', functionArn: 'arn:aws:lambda:eu-west-1:111111111111:function:bb-load', stage: 'during_phase' as const, phases: [50] }];
    expect(failure(() => parsePipelineConfig({ environments: [{ name: 'production', hooks }] }))).toContain('hotfixPhases: hook "load test" runs at 50%, which the hotfix plan (10% → 100%) has no phase of');
    const withFifty = [{ weight: 10, monitorMinutes: 15, requiresApproval: true }, { weight: 50, monitorMinutes: 15, requiresApproval: false }, { weight: 100, monitorMinutes: 15, requiresApproval: false }];
    expect(parsePipelineConfig({ environments: [{ name: 'production', hooks }], hotfixPhases: withFifty }).hotfixPhases).toEqual(withFifty);
  });

  it('the CDK app (bin/app.ts) refuses it, naming hotfixPhases, no stack trace', () => {
    const hotfixPhases = [{ weight: 10, monitorMinutes: 15, requiresApproval: false }, { weight: 100, monitorMinutes: 15, requiresApproval: false }];
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'bin/app.ts'], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ builderbrain: { hotfixPhases } }), CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'bb-cdkout-')) },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('hotfixPhases: no phase before the last requires approval');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
