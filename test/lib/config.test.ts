import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_ALARM_POLICY } from '../../core/alarms.js';
import { DEFAULT_MAX_LOOKS_PER_PHASE, DEFAULT_PHASES, estimateHistoryEvents } from '../../core/plan.js';
import { DEFAULT_POLICY } from '../../core/policy.js';
import {
  canaryTimeoutMinutes,
  DEFAULT_PIPELINE_CONFIG,
  deepMerge,
  HISTORY_BUDGET_SHARE,
  loadPipelineConfig,
  parsePipelineConfig,
  STEP_FUNCTIONS_HISTORY_LIMIT,
} from '../../lib/config.js';

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
      retention: { logRetentionDays: 90 },
      functions: { rollbackReservedConcurrency: 5 },
    });
    expect(DEFAULT_PIPELINE_CONFIG.alarms).toEqual(DEFAULT_ALARM_POLICY);
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
});

describe('derived timeouts', () => {
  it('bound a canary execution by monitoring plus one approval per phase', () => {
    expect(canaryTimeoutMinutes(DEFAULT_PIPELINE_CONFIG)).toBe(4 * 60 + 4 * 1440 + 60 + 40);
  });
});
