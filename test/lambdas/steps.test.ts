/**
 * The step registry (core/steps.ts) and what is derived from it: one handler folder per step, the
 * embedded runtime's factories, each step's environment exactly what its ports, settings and
 * permissions need, and the one handler shape (lambdas/shared/step.ts).
 */
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { STANDALONE_ENVIRONMENT } from '../../core/environments.js';
import { BakePolicySchema, RecoveryPolicySchema } from '../../core/bake.js';
import { STEP_BAKE, STEP_INCIDENTS, STEP_NAMES, STEP_RECOVERY, STEP_RUN_GATES, STEP_RUN_HOOKS, STEP_VALIDATE_MANIFEST, STEPS, pickStepDeps, stepsWith, type EnvKey, type StepName, type StepSpec } from '../../core/steps.js';
import { DEFAULT_INCIDENT_POLICY } from '../../core/incidents.js';
import { HANDLER_FACTORIES } from '../../lambdas/handlers.js';
import { mappedSettings, stepEntry, stepEnvSchema } from '../../lambdas/shared/entry.js';
import { defineStep, Skip, withSchema } from '../../lambdas/shared/step.js';

/** The variables a step's ports, settings and permissions are configured by. */
function envNeeded(spec: StepSpec): Set<EnvKey> {
  const needs = new Set<EnvKey>();
  const ports: readonly string[] = spec.ports;
  if (ports.includes('ledger') || ports.includes('lock')) needs.add('tableName');
  if (ports.includes('router')) needs.add('router');
  if (ports.includes('target')) needs.add('serving');
  if (ports.includes('metrics')) needs.add('metricsNamespace');
  if (ports.includes('notifier')) {
    if (spec.permissions.publishes?.includes('incident')) needs.add('incidentTopicArn');
    if (spec.permissions.publishes?.includes('approvals')) needs.add('approvalTopicArn');
  }
  if (spec.permissions.startsPromotion === true) needs.add('promotionStateMachineArn');
  const fromSetting = {
    model: 'model',
    gatePolicy: 'gatePolicy',
    canaryPolicy: 'canaryPolicy',
    settings: 'serving',
    bucket: 'artifactBucket',
    warmup: 'alarmWarmup',
    environment: 'environment',
    bake: 'bake',
    recovery: 'recovery',
    incidents: 'incidents',
  } as const;
  for (const s of spec.settings) needs.add(fromSetting[s]);
  return needs;
}

describe('the step registry', () => {
  it('has one handler folder (handler.ts and index.ts) per step, and one factory per step', () => {
    const root = fileURLToPath(new URL('../../lambdas/', import.meta.url));
    const folders = readdirSync(root, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(`${root}${d.name}/index.ts`))
      .map((d) => d.name);
    expect([...folders].sort()).toEqual([...STEP_NAMES].sort());
    for (const name of folders) expect(existsSync(`${root}${name}/handler.ts`)).toBe(true);
    expect(Object.keys(HANDLER_FACTORIES).sort()).toEqual([...STEP_NAMES].sort());
  });

  it.each(STEP_NAMES)('%s: its environment is exactly what its ports, settings and permissions are configured by', (name) => {
    const spec: StepSpec = STEPS[name];
    expect(spec.name).toBe(name);
    expect(new Set(spec.env)).toEqual(envNeeded(spec));
    expect(new Set(spec.env).size).toBe(spec.env.length);
  });

  it('a step that publishes is given a notifier; one that stops or starts executions, the executions', () => {
    for (const name of STEP_NAMES) {
      const spec: StepSpec = STEPS[name];
      const ports: readonly string[] = spec.ports;
      expect(ports.includes('notifier')).toBe((spec.permissions.publishes ?? []).length > 0);
      expect(ports.includes('executions')).toBe(spec.permissions.startsPromotion === true || spec.permissions.stopsCanary === true);
      expect(ports.includes('router'), name).toBe(spec.permissions.routesTraffic === true || spec.permissions.readsTraffic === true);
      // Reading the split is never more than reading it.
      expect(spec.permissions.routesTraffic === true && spec.permissions.readsTraffic === true, name).toBe(false);
      expect(ports.includes('target')).toBe(spec.permissions.deploysModels === true);
      expect(ports.includes('metrics')).toBe(spec.permissions.readsMetrics === true);
      expect(ports.includes('hooks'), name).toBe(spec.permissions.invokesHooks === true);
      expect(ports.includes('bus'), name).toBe(spec.permissions.sendsHandover === true);
      expect(ports.includes('upstream'), name).toBe(spec.permissions.copiesUpstream === true);
    }
  });

  it('picks exactly the listed ports and settings', () => {
    const all = Object.fromEntries(
      ['ledger', 'lock', 'clock', 'notifier', 'router', 'executions', 'artifacts', 'metrics', 'target', 'hooks', 'bus', 'upstream', 'model', 'gatePolicy', 'canaryPolicy', 'settings', 'bucket', 'warmup', 'environment', 'bake', 'recovery'].map((k) => [k, `<${k}>`]),
    );
    expect(pickStepDeps('run-gates', all as never)).toEqual({ ledger: '<ledger>', clock: '<clock>', gatePolicy: '<gatePolicy>' });
    expect(Object.keys(pickStepDeps('rollback', all as never)).sort()).toEqual(['bucket', 'clock', 'executions', 'ledger', 'lock', 'model', 'notifier', 'router', 'warmup']);
    expect(pickStepDeps('run-hooks', all as never)).toEqual({ hooks: '<hooks>', ledger: '<ledger>', clock: '<clock>', environment: '<environment>' });
    expect(Object.keys(pickStepDeps('accept-handover', all as never)).sort()).toEqual(['bucket', 'clock', 'environment', 'ledger', 'model', 'notifier', 'upstream']);
    expect(pickStepDeps('bake', all as never)).toEqual({ metrics: '<metrics>', ledger: '<ledger>', notifier: '<notifier>', clock: '<clock>', bake: '<bake>', canaryPolicy: '<canaryPolicy>' });
    expect(pickStepDeps('recovery', all as never)).toEqual({ metrics: '<metrics>', router: '<router>', ledger: '<ledger>', notifier: '<notifier>', clock: '<clock>', artifacts: '<artifacts>', recovery: '<recovery>', bucket: '<bucket>' });
  });

  it('lists the steps by permission, in registry order', () => {
    expect(stepsWith('readsArtifacts')).toEqual(['validate-manifest', 'verify-artifact', 'recovery', 'hand-over']);
    expect(stepsWith('writesAnalysis')).toEqual(['recovery']);
    expect(stepsWith('stopsCanary')).toEqual(['rollback', 'execution-ended']);
    expect(stepsWith('publishes')).toEqual(['validate-manifest', 'reject-release', 'analyze-canary', 'request-approval', 'promote', 'rollback', 'execution-ended', 'bake', 'recovery', 'incidents', 'accept-handover']);
    expect(stepsWith('listsReleases')).toEqual(['incidents']);
    expect(stepsWith('readsMetrics')).toEqual(['analyze-canary', 'bake', 'recovery', 'drill']);
    expect(stepsWith('invokesHooks')).toEqual(['run-hooks']);
    expect(stepsWith('sendsHandover')).toEqual(['hand-over']);
    expect(stepsWith('copiesUpstream')).toEqual(['accept-handover']);
    expect(stepsWith('routesTraffic')).toContain('drill');
  });
});

describe('a step entry environment (lambdas/shared/entry.ts)', () => {
  it('parses the registry variables into their keys; a missing one is named', () => {
    const schema = stepEnvSchema(STEP_RUN_GATES);
    expect(schema.parse({ BB_TABLE_NAME: 'bb-ledger', BB_GATE_POLICY_JSON: '{}', BB_MODEL: 'ignored' })).toMatchObject({ tableName: 'bb-ledger', gatePolicy: expect.any(Object) });
    const r = schema.safeParse({ BB_GATE_POLICY_JSON: '{}' });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues.map((i) => i.path))).toContain('BB_TABLE_NAME');
  });

  it('parses BB_ENVIRONMENT_JSON into `environment`; a bad one is named', () => {
    const schema = stepEnvSchema(STEP_RUN_HOOKS);
    const environment = { ...STANDALONE_ENVIRONMENT, name: 'staging', of: 3, next: { name: 'pre-production', eventBusArn: 'arn:aws:events:eu-west-1:222222222222:event-bus/bb-handover' } };
    expect(schema.parse({ BB_TABLE_NAME: 'bb-ledger', BB_ENVIRONMENT_JSON: JSON.stringify(environment) })).toEqual({ tableName: 'bb-ledger', environment });
    const r = schema.safeParse({ BB_TABLE_NAME: 'bb-ledger', BB_ENVIRONMENT_JSON: JSON.stringify({ ...environment, name: 'Staging!' }) });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues.map((i) => i.path))).toContain('BB_ENVIRONMENT_JSON');
  });

  it('maps the `environment`, `bake` and `recovery` settings from their variables for every step that lists them, and only those', () => {
    const bake = BakePolicySchema.parse({ minutes: 60 });
    const recovery = RecoveryPolicySchema.parse({});
    const incidents = DEFAULT_INCIDENT_POLICY;
    const env = { tableName: 'bb-ledger', environment: STANDALONE_ENVIRONMENT, bake, recovery, incidents };
    expect(mappedSettings(STEP_VALIDATE_MANIFEST, env)).toEqual({ environment: STANDALONE_ENVIRONMENT });
    expect(mappedSettings(STEP_RUN_GATES, env)).toEqual({});
    expect(mappedSettings(STEP_BAKE, env)).toEqual({ bake });
    expect(mappedSettings(STEP_RECOVERY, env)).toEqual({ recovery });
    expect(mappedSettings(STEP_INCIDENTS, env)).toEqual({ incidents });
    for (const name of STEP_NAMES) {
      const spec: StepSpec = STEPS[name];
      const listed = (['environment', 'bake', 'recovery', 'incidents'] as const).filter((setting) => (spec.settings as readonly string[]).includes(setting));
      expect(Object.keys(mappedSettings(spec, env)), name).toEqual(listed);
    }
    // A registry entry that lists the setting but not its variable is refused by name.
    expect(() => mappedSettings({ ...STEP_RUN_HOOKS, env: ['tableName'] }, env)).toThrow(/run-hooks .*BB_ENVIRONMENT_JSON/);
  });

  describe('stepEntry', () => {
    afterEach(() => vi.unstubAllEnvs());

    it("gives the handler the environment parsed from BB_ENVIRONMENT_JSON, which the entry's wire did not name", async () => {
      const environment = { ...STANDALONE_ENVIRONMENT, name: 'pre-production', index: 1, of: 3, previous: { name: 'staging', account: '111111111111' } };
      vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
      vi.stubEnv('BB_TABLE_NAME', 'bb-ledger');
      vi.stubEnv('BB_ENVIRONMENT_JSON', JSON.stringify(environment));
      const seen: Record<string, unknown>[] = [];
      const fake = { fake: true } as never;
      await stepEntry(
        STEP_RUN_HOOKS,
        (deps) => {
          seen.push(deps as unknown as Record<string, unknown>);
          return async () => 'ok';
        },
        (env) => ({ hooks: fake, ledger: fake, clock: { now: () => new Date(env.tableName.length) } }),
      );
      expect(seen).toHaveLength(1);
      expect(seen[0]!['environment']).toEqual(environment);
      expect(Object.keys(seen[0]!).sort()).toEqual(['clock', 'environment', 'hooks', 'ledger', 'log', 'telemetry']);
    });
  });
});

describe('defineStep (lambdas/shared/step.ts)', () => {
  const Input = z.strictObject({ n: z.number() });
  const make = (name: StepName | 'x' = 'x') =>
    defineStep({
      parse: (event: unknown) => ((event as { skip?: boolean }).skip === true ? new Skip(`${name}: nothing to do`) : withSchema(Input, 'Double')(event)),
      run: async (input: { n: number }, deps: { fail: boolean }) => {
        if (deps.fail) throw Object.assign(new Error('boom'), { name: 'Boom' });
        return { doubled: input.n * 2 };
      },
      report: (out, input, { log, telemetry }) => {
        log.info('doubled', { n: input.n, doubled: out.doubled });
        telemetry.count('Doubled');
      },
      onError: (err, { telemetry }) => telemetry.count(`Failed_${(err as Error).name}`),
    });
  const recorder = () => {
    const lines: string[] = [];
    return { lines, log: { info: (m: string) => void lines.push(`info ${m}`), warn: () => {}, error: () => {} }, telemetry: { count: (n: string) => void lines.push(`count ${n}`) } };
  };

  it('parses, runs the use case, reports, returns its result', async () => {
    const r = recorder();
    expect(await make()({ fail: false, log: r.log, telemetry: r.telemetry })({ n: 2 })).toEqual({ doubled: 4 });
    expect(r.lines).toEqual(['info doubled', 'count Doubled']);
  });

  it('a bad event is an InvalidInputError naming the field; a skipped one is answered "ignored" and logged', async () => {
    const h = make()({ fail: false });
    await expect(h({ n: 'two' })).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringMatching(/^invalid Double event: n/) });
    const r = recorder();
    expect(await make()({ fail: false, log: r.log })({ skip: true })).toEqual({ outcome: 'ignored', message: 'x: nothing to do' });
    expect(r.lines).toEqual(['info x: nothing to do']);
  });

  it('counts a failure and rethrows it', async () => {
    const r = recorder();
    await expect(make()({ fail: true, telemetry: r.telemetry })({ n: 1 })).rejects.toThrow('boom');
    expect(r.lines).toEqual(['count Failed_Boom']);
  });
});
