/**
 * The two state machine definitions: the exact JSON of the key states, the interpreter constraints
 * (JSONPath only, no `ResultPath: "$"`), the contract's state names, asl-validator and AWS's ASL
 * language service, and the StateMachine resources (logging, tracing, type).
 */
import aslValidator from 'asl-validator';
import asl from 'amazon-states-language-service';
import { beforeAll, describe, expect, it } from 'vitest';
import { STATE_NAMES } from '../../core/contracts.js';
import { DEFAULT_HOTFIX_PHASES } from '../../core/hotfix.js';
import { DEFAULT_PHASES } from '../../core/plan.js';
import { LAMBDA_TRANSIENT_ERRORS } from '../../lib/sfn-tasks.js';
import { PLACEHOLDER_ENV, stateMachineDefinitions, type AslDefinition, type MachineDefinitions } from '../../lib/synth.js';
import { resourcesOf, synth, type Synthesized } from './fixture.js';

let s: Synthesized;
let defs: MachineDefinitions;
beforeAll(() => {
  s = synth();
  defs = stateMachineDefinitions(s.json);
});

const fnArn = (handler: string) => {
  const arn = Object.entries(defs.functionArns).find(([, h]) => h === handler)?.[0];
  if (arn === undefined) throw new Error(`no function for ${handler}`);
  return arn;
};
const RETRY = (withTimeout: boolean) => [
  {
    ErrorEquals: [...LAMBDA_TRANSIENT_ERRORS, ...(withTimeout ? ['States.Timeout'] : [])],
    IntervalSeconds: 2,
    MaxAttempts: 4,
    BackoffRate: 2,
    JitterStrategy: 'FULL',
  },
];

/** Every state of a definition, nested ones included. */
function allStates(def: AslDefinition): [string, Record<string, unknown>][] {
  return Object.entries(def.States);
}

describe('state names (the contract with the embedded runtime)', () => {
  it('the promotion machine has every STATE_NAMES.promotion, promotionBake and promotionRecovery state', () => {
    for (const name of Object.values({ ...STATE_NAMES.promotion, ...STATE_NAMES.promotionBake, ...STATE_NAMES.promotionRecovery })) {
      expect(defs.promotion.definition.States).toHaveProperty([name]);
    }
  });
  it('the canary machine has every STATE_NAMES.canary state', () => {
    for (const name of Object.values(STATE_NAMES.canary)) expect(defs.canary.definition.States).toHaveProperty([name]);
  });
  it('maps every Lambda task to its handler', () => {
    const loop = (p: string, first: string) => ({ [first]: 'serving', [`${p}Apply`]: 'serving', [`${p}Check`]: 'serving' });
    expect(defs.promotion.handlerForTask).toEqual({
      ValidateManifest: 'validate-manifest',
      AcquireLock: 'release-lock',
      RunGates: 'run-gates',
      VerifyArtifact: 'verify-artifact',
      ...loop('DeployCandidate', 'DeployCandidate'),
      SmokeTest: 'serving',
      ...loop('Converge', 'ConvergeStart'),
      ...loop('RemoveAfterRollback', 'RemoveAfterRollbackStart'),
      ...loop('RemoveAfterReject', 'RemoveAfterRejectStart'),
      ...loop('RemoveAfterRejectFailure', 'RemoveAfterRejectFailureStart'),
      ...loop('RemoveAfterFailure', 'RemoveAfterFailureStart'),
      RejectRelease: 'reject-release',
      ReleaseLock: 'release-lock',
      ReleaseLockAfterReject: 'release-lock',
      ReleaseLockAfterFailure: 'release-lock',
      ReleaseLockAfterServingFailure: 'release-lock',
      RollbackOnCanaryFailure: 'rollback',
      StartBake: 'bake',
      WatchBake: 'bake',
      RollbackOnBake: 'rollback',
      PlanRecovery: 'recovery',
      VerifyRecovery: 'recovery',
      PlanRecoveryAfterAlarm: 'recovery',
      VerifyRecoveryAfterAlarm: 'recovery',
      PlanRecoveryAfterFailure: 'recovery',
      VerifyRecoveryAfterFailure: 'recovery',
    });
    expect(defs.canary.handlerForTask).toEqual({
      StartPhase: 'start-phase',
      AnalyzeCanary: 'analyze-canary',
      RequestApproval: 'request-approval',
      Promote: 'promote',
      RollbackOnVerdict: 'rollback',
      RollbackOnRejection: 'rollback',
      RollbackOnApprovalTimeout: 'rollback',
      RollbackOnTaskFailure: 'rollback',
    });
  });
});

describe('what the local interpreter needs', () => {
  it.each(['promotion', 'canary'] as const)('%s: JSONPath only, no Assign/Arguments/Output, no ResultPath "$"', (which) => {
    const def = defs[which].definition;
    expect(def['QueryLanguage'] ?? 'JSONPath').toBe('JSONPath');
    for (const [name, state] of allStates(def)) {
      expect(state['QueryLanguage'], name).toBeUndefined();
      for (const field of ['Assign', 'Arguments', 'Output']) expect(state[field], `${name}.${field}`).toBeUndefined();
      expect(state['ResultPath'], name).not.toBe('$');
      for (const c of (state['Catch'] as { ResultPath?: string }[] | undefined) ?? []) expect(c.ResultPath, `${name} Catch`).not.toBe('$');
    }
    expect(JSON.stringify(def)).not.toMatch(/\{%|%\}/);
  });

  it.each(['promotion', 'canary'] as const)('%s: tokens resolved to placeholder ARNs', (which) => {
    const text = JSON.stringify(defs[which].definition);
    expect(text).not.toMatch(/Fn::|"Ref"|\$\{Token/);
    expect(text).toContain(`:${PLACEHOLDER_ENV.account}:function:`);
  });

  it.each(['promotion', 'canary'] as const)('%s passes asl-validator (ARNs and paths checked)', (which) => {
    const result = aslValidator(structuredClone(defs[which].definition), { checkArn: true, checkPaths: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  /** AWS's ASL language service (amazon-states-language-service: what the AWS Toolkit's Step Functions editor validates with). */
  const aslDiagnostics = async (definition: unknown) => {
    const service = asl.getLanguageService({});
    const document = asl.TextDocument.create('file:///definition.asl.json', 'json', 0, JSON.stringify(definition, null, 2));
    return service.doValidation(document, service.parseJSONDocument(document));
  };

  it('the ASL language service finds errors (it is not vacuous)', async () => {
    const broken = structuredClone(defs.canary.definition) as { StartAt: string; States: Record<string, Record<string, unknown>> };
    broken.States[broken.StartAt]!['Next'] = 'NoSuchState';
    const errors = (await aslDiagnostics(broken)).filter((d) => d.severity === asl.DiagnosticSeverity.Error);
    expect(errors.map((d) => d.message).join('\n')).toMatch(/NoSuchState|not exist|Next/i);
  });

  // No warnings either (none to justify): every diagnostic, of any severity, is listed on failure.
  it.each(['promotion', 'canary'] as const)('%s: the ASL language service reports no diagnostic', async (which) => {
    const diagnostics = await aslDiagnostics(defs[which].definition);
    expect(diagnostics.map((d) => `${d.severity} ${d.message} @${d.range.start.line + 1}:${d.range.start.character + 1}`)).toEqual([]);
  });

  it('every Lambda task retries the transient errors with backoff and full jitter', () => {
    for (const [which, def] of [['promotion', defs.promotion], ['canary', defs.canary]] as const) {
      for (const [name] of Object.entries(def.handlerForTask)) {
        const state = def.definition.States[name]!;
        expect(state['Retry'], `${which}.${name}`).toEqual(RETRY(name !== STATE_NAMES.canary.requestApproval));
      }
    }
  });
});

describe('promotion: key states, exactly', () => {
  it('ValidateManifest', () => {
    expect(defs.promotion.definition.States['ValidateManifest']).toEqual({
      Type: 'Task',
      Resource: fnArn('validate-manifest'),
      // The configured plans, static; the release's own (a hotfix's: hotfixPhases) comes back in $.validation.plan.
      Parameters: { 'releaseId.$': '$.releaseId', 'source.$': '$.source', 'receivedAt.$': '$.receivedAt', phases: DEFAULT_PHASES, hotfixPhases: DEFAULT_HOTFIX_PHASES },
      ResultPath: '$.validation',
      TimeoutSeconds: 40,
      Retry: RETRY(true),
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'PromotionFailed' }],
      Next: 'IsManifestValid',
    });
  });

  it('ValidateManifest carries the configured hotfix plan, or none when hotfixes run `phases`', () => {
    const hotfixPhases = [{ weight: 5, monitorMinutes: 20, requiresApproval: true }, { weight: 100, monitorMinutes: 10, requiresApproval: false }];
    const own = stateMachineDefinitions(synth({ hotfixPhases }).json);
    expect(own.promotion.definition.States['ValidateManifest']!['Parameters']).toMatchObject({ phases: DEFAULT_PHASES, hotfixPhases });
    const none = stateMachineDefinitions(synth({ hotfixPhases: null }).json);
    expect(none.promotion.definition.States['ValidateManifest']!['Parameters']).not.toHaveProperty('hotfixPhases');
  });

  it('AcquireLock and LockAcquired', () => {
    expect(defs.promotion.definition.States['AcquireLock']).toMatchObject({
      Resource: fnArn('release-lock'),
      Parameters: { action: 'acquire', 'releaseId.$': '$.releaseId', 'model.$': '$.validation.model' },
      ResultPath: '$.lock',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'ReleaseLockAfterFailure' }],
    });
    expect(defs.promotion.definition.States['LockAcquired']).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.lock.acquired', BooleanEquals: true, Next: 'RunGates' }],
      Default: 'MarkLockBusy',
    });
  });

  it('RunCanary: .sync:2 start of the canary machine, named by the release, the release\'s plan (ValidateManifest\'s, from the static phases)', () => {
    expect(defs.promotion.definition.States['RunCanary']).toEqual({
      Type: 'Task',
      Resource: 'arn:aws:states:::states:startExecution.sync:2',
      Parameters: {
        StateMachineArn: defs.canary.arn,
        'Name.$': '$.releaseId',
        Input: {
          'releaseId.$': '$.releaseId',
          'model.$': '$.validation.model',
          'version.$': '$.validation.version',
          'phases.$': '$.validation.plan',
          maxLooksPerPhase: 120,
          'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id',
        },
      },
      ResultSelector: { 'outcome.$': '$.Output.outcome', 'releaseId.$': '$.Output.releaseId', 'canaryExecutionArn.$': '$.ExecutionArn' },
      ResultPath: '$.canary',
      Retry: [
        {
          ErrorEquals: ['StepFunctions.ExecutionLimitExceededException', 'StepFunctions.SdkClientException'],
          IntervalSeconds: 2,
          MaxAttempts: 4,
          BackoffRate: 2,
          JitterStrategy: 'FULL',
        },
      ],
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'RunCanaryFailed' }],
      Next: 'CanaryOutcome',
    });
    expect(defs.promotion.definition.States['CanaryOutcome']).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.canary.outcome', StringEquals: 'promoted', Next: 'StartBake' }],
      Default: 'RemoveAfterRollbackStart',
    });
  });

  it('RollbackOnCanaryFailure stops the canary, removes the candidate (never a promoted one), checks the recovery, and always reaches the lock release', () => {
    expect(defs.promotion.definition.States['RollbackOnCanaryFailure']).toMatchObject({
      Resource: fnArn('rollback'),
      Parameters: {
        'releaseId.$': '$.releaseId',
        'model.$': '$.validation.model',
        trigger: { kind: 'task_failure', 'step.$': '$.failure.step', 'error.$': '$.failure.Error' },
        stopExecution: true,
      },
      ResultPath: '$.rollback',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.rollbackFailure', Next: 'ReleaseLockAfterFailure' }],
      Next: 'AfterFailureRollback',
    });
    const outcomeIs = (outcome: string, next: string) => ({
      And: [
        { Variable: '$.rollback.outcome', IsPresent: true },
        { Variable: '$.rollback.outcome', StringEquals: outcome },
      ],
      Next: next,
    });
    // A release already promoted (a step of its bake failed) or released keeps its version: only the lock is released.
    expect(defs.promotion.definition.States['AfterFailureRollback']).toEqual({
      Type: 'Choice',
      Choices: [outcomeIs('already_promoted', 'ReleaseLockAfterFailure')],
      Default: 'RemoveAfterFailureStart',
    });
    expect(defs.promotion.definition.States['RemoveAfterFailureProgress']).toMatchObject({
      Choices: expect.arrayContaining([{ Variable: '$.serving.next', StringEquals: 'done', Next: 'WasAlreadyRolledBack' }]),
      Default: 'ReleaseLockAfterServingFailure',
    });
    // One recovery check per rollback, named for who rolled back, before the lock is released.
    expect(defs.promotion.definition.States['WasAlreadyRolledBack']).toEqual({
      Type: 'Choice',
      Choices: [outcomeIs('already_rolled_back', 'PlanRecoveryAfterAlarm')],
      Default: 'PlanRecoveryAfterFailure',
    });
    expect(defs.promotion.definition.States['VerifyRecoveryAfterAlarm']).toMatchObject({ Next: 'ReleaseLockAfterFailure' });
    expect(defs.promotion.definition.States['VerifyRecoveryAfterFailure']).toMatchObject({ Next: 'ReleaseLockAfterFailure' });
    expect(defs.promotion.definition.States['RolledBackByAlarm']).toMatchObject({ Next: 'RolledBack' });
    expect(defs.promotion.definition.States['WasRolledBackByAlarm']).toEqual({
      Type: 'Choice',
      Choices: [
        {
          And: [
            { Variable: '$.rollback.outcome', IsPresent: true },
            { Variable: '$.rollback.outcome', StringEquals: 'already_rolled_back' },
          ],
          Next: 'RolledBackByAlarm',
        },
      ],
      Default: 'PromotionFailed',
    });
  });

  it('RejectRelease takes the RejectInput built for its cause', () => {
    expect(defs.promotion.definition.States['RejectRelease']).toMatchObject({
      Resource: fnArn('reject-release'),
      InputPath: '$.rejection',
      ResultPath: '$.reject',
      // a failing RejectRelease still removes whatever was deployed before the lock goes
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'RemoveAfterRejectFailureStart' }],
      Next: 'AfterRejection',
    });
    expect(defs.promotion.definition.States['AfterRejection']).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.reject.then', StringEquals: 'remove_candidate', Next: 'RemoveAfterRejectStart' },
        { Variable: '$.reject.then', StringEquals: 'release_lock', Next: 'ReleaseLockAfterReject' },
      ],
      Default: 'Rejected',
    });
    expect(defs.promotion.definition.States['Rejected']).toEqual({ Type: 'Succeed', OutputPath: '$.reject' });
    expect(defs.promotion.definition.States['MarkGatesFailed']).toEqual({
      Type: 'Pass',
      Parameters: { 'releaseId.$': '$.releaseId', cause: 'gates_failed', 'validation.$': '$.validation', 'gate.$': '$.gate' },
      ResultPath: '$.rejection',
      Next: 'RejectRelease',
    });
  });
});

describe('promotion: verify, deploy, smoke test, converge or remove, exactly', () => {
  const st = () => defs.promotion.definition.States;
  const lambdaTask = (handler: string, parameters: Record<string, unknown>, resultPath: string, timeoutSeconds: number, next: string, katch: unknown[]) => ({
    Type: 'Task',
    Resource: fnArn(handler),
    Parameters: parameters,
    ResultPath: resultPath,
    TimeoutSeconds: timeoutSeconds,
    Retry: RETRY(true),
    Catch: katch,
    Next: next,
  });
  const toRollback = (step: string) => [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: `${step}Failed` }];
  const toServingFailure = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.servingError', Next: 'ReleaseLockAfterServingFailure' }];

  it('GatesPassed → VerifyArtifact (the manifest\'s artifact) → ArtifactVerified', () => {
    expect(st()['GatesPassed']).toEqual({ Type: 'Choice', Choices: [{ Variable: '$.gate.passed', BooleanEquals: true, Next: 'VerifyArtifact' }], Default: 'MarkGatesFailed' });
    expect(st()['VerifyArtifact']).toEqual(
      lambdaTask(
        'verify-artifact',
        { 'releaseId.$': '$.releaseId', 'model.$': '$.validation.model', 'version.$': '$.validation.version', 'artifact.$': '$.validation.manifest.artifact' },
        '$.artifact',
        15 * 60 + 10,
        'ArtifactVerified',
        toRollback('VerifyArtifact'),
      ),
    );
    expect(st()['VerifyArtifactFailed']).toEqual({ Type: 'Pass', Result: 'VerifyArtifact', ResultPath: '$.failure.step', Next: 'RollbackOnCanaryFailure' });
    expect(st()['ArtifactVerified']).toEqual({ Type: 'Choice', Choices: [{ Variable: '$.artifact.ok', BooleanEquals: true, Next: 'DeployCandidate' }], Default: 'MarkArtifactRejected' });
    expect(st()['MarkArtifactRejected']).toEqual({
      Type: 'Pass',
      Parameters: { 'releaseId.$': '$.releaseId', cause: 'artifact_rejected', 'validation.$': '$.validation', 'artifact.$': '$.artifact' },
      ResultPath: '$.rejection',
      Next: 'RejectRelease',
    });
  });

  it('DeployCandidate plans and applies from the validated manifest (its serving request included)', () => {
    expect(st()['DeployCandidate']).toEqual(
      lambdaTask(
        'serving',
        {
          'releaseId.$': '$.releaseId',
          action: 'deploy',
          'model.$': '$.validation.model',
          'version.$': '$.validation.version',
          'artifact.$': '$.validation.manifest.artifact',
          'serving.$': '$.validation.serving',
        },
        '$.serving',
        310,
        'DeployCandidateProgress',
        toRollback('DeployCandidate'),
      ),
    );
    expect(st()['MarkDeployFailed']).toEqual({
      Type: 'Pass',
      Parameters: { 'releaseId.$': '$.releaseId', cause: 'deploy_failed', 'validation.$': '$.validation', 'serving.$': '$.serving' },
      ResultPath: '$.rejection',
      Next: 'RejectRelease',
    });
  });

  it.each([
    // loop, first task, goal of the start task, where `done` goes, where `failed` goes
    ['DeployCandidate', 'DeployCandidate', null, 'SmokeTest', 'MarkDeployFailed'],
    ['Converge', 'ConvergeStart', 'converged', 'ReleaseLock', 'ReleaseLockAfterServingFailure'],
    ['RemoveAfterRollback', 'RemoveAfterRollbackStart', 'candidate_removed', 'PlanRecovery', 'ReleaseLockAfterServingFailure'],
    ['RemoveAfterReject', 'RemoveAfterRejectStart', 'candidate_removed', 'ReleaseLockAfterReject', 'ReleaseLockAfterServingFailure'],
    ['RemoveAfterFailure', 'RemoveAfterFailureStart', 'candidate_removed', 'WasAlreadyRolledBack', 'ReleaseLockAfterServingFailure'],
  ] as const)('%s loop: apply / check at $.serving.nextCheckAt until done or failed', (p, first, goal, onDone, onFailed) => {
    const katch = (step: string) => (p === 'DeployCandidate' ? toRollback(step) : toServingFailure);
    if (goal !== null) {
      expect(st()[first]).toEqual(lambdaTask('serving', { 'releaseId.$': '$.releaseId', action: 'start', goal }, '$.serving', 310, `${p}Progress`, katch(first)));
    }
    expect(st()[first]).toMatchObject({ Next: `${p}Progress` });
    expect(st()[`${p}Progress`]).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.serving.next', StringEquals: 'apply', Next: `${p}WaitToApply` },
        { Variable: '$.serving.next', StringEquals: 'check', Next: `${p}WaitToCheck` },
        { Variable: '$.serving.next', StringEquals: 'done', Next: onDone },
      ],
      Default: onFailed,
    });
    for (const action of ['Apply', 'Check'] as const) {
      expect(st()[`${p}WaitTo${action}`]).toEqual({ Type: 'Wait', TimestampPath: '$.serving.nextCheckAt', Next: `${p}${action}` });
      expect(st()[`${p}${action}`]).toEqual(
        lambdaTask('serving', { 'releaseId.$': '$.releaseId', action: action.toLowerCase(), 'progress.$': '$.serving' }, '$.serving', 310, `${p}Progress`, katch(`${p}${action}`)),
      );
    }
  });

  it('SmokeTest sends the config\'s smoke samples (static JSON) to the deployed candidate; SmokePassed gates the canary', () => {
    expect(st()['SmokeTest']).toEqual(
      lambdaTask('serving', { 'releaseId.$': '$.releaseId', action: 'smoke', 'deployment.$': '$.serving.deployment', samples: [] }, '$.smoke', 310, 'SmokePassed', toRollback('SmokeTest')),
    );
    const samples = [
      { name: 'hello', body: '{"prompt":"hi"}', expect: { jsonSchema: { type: 'object', required: ['completion'] }, maxLatencyMs: 2000 } },
      { name: 'plain text', contentType: 'text/plain', body: 'ping' },
    ];
    const x = synth({ deployment: { smoke: samples } });
    const withSamples = stateMachineDefinitions(x.json).promotion.definition.States['SmokeTest']!;
    expect((withSamples['Parameters'] as { samples: unknown }).samples).toEqual(x.config.deployment.smoke);
    expect((withSamples['Parameters'] as { samples: unknown }).samples).toEqual([
      { name: 'hello', contentType: 'application/json', body: '{"prompt":"hi"}', expect: { jsonSchema: { type: 'object', required: ['completion'] }, maxLatencyMs: 2000 } },
      { name: 'plain text', contentType: 'text/plain', body: 'ping', expect: { maxLatencyMs: 10_000 } },
    ]);
    expect(st()['SmokePassed']).toEqual({ Type: 'Choice', Choices: [{ Variable: '$.smoke.passed', BooleanEquals: true, Next: 'RunCanary' }], Default: 'MarkSmokeFailed' });
    expect(st()['MarkSmokeFailed']).toEqual({
      Type: 'Pass',
      Parameters: { 'releaseId.$': '$.releaseId', cause: 'smoke_failed', 'validation.$': '$.validation', 'smoke.$': '$.smoke' },
      ResultPath: '$.rejection',
      Next: 'RejectRelease',
    });
  });

  it('a converge or removal that fails releases the lock, then fails the execution as ServingFailed', () => {
    expect(st()['ReleaseLockAfterServingFailure']).toEqual(
      lambdaTask('release-lock', { action: 'release', 'releaseId.$': '$.releaseId', 'model.$': '$.validation.model' }, '$.unlock', 25, 'ServingFailed', [
        { ErrorEquals: ['States.ALL'], ResultPath: '$.unlockFailure', Next: 'PromotionFailed' },
      ]),
    );
    expect(st()['ServingFailed']).toMatchObject({ Type: 'Fail', Error: 'ServingFailed' });
  });
});

describe('canary: key states, exactly', () => {
  it('StartPhase takes its phase index from $.cursor (InitCanary or AdvancePhase)', () => {
    const st = defs.canary.definition.States;
    expect(st['InitCanary']).toEqual({ Type: 'Pass', Result: { phaseIndex: 0 }, ResultPath: '$.cursor', Next: 'StartPhase' });
    expect(st['AdvancePhase']).toEqual({ Type: 'Pass', Parameters: { 'phaseIndex.$': '$.phase.nextIndex' }, ResultPath: '$.cursor', Next: 'StartPhase' });
    expect(st['StartPhase']).toEqual({
      Type: 'Task',
      Resource: fnArn('start-phase'),
      Parameters: {
        'releaseId.$': '$.releaseId',
        'model.$': '$.model',
        'version.$': '$.version',
        'phases.$': '$.phases',
        'maxLooksPerPhase.$': '$.maxLooksPerPhase',
        'phaseIndex.$': '$.cursor.phaseIndex',
        'executionArn.$': '$$.Execution.Id',
      },
      ResultPath: '$.phase',
      TimeoutSeconds: 310,
      Retry: RETRY(true),
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'StartPhaseFailed' }],
      Next: 'WaitForNextLook',
    });
    expect(st['StartPhaseFailed']).toEqual({ Type: 'Pass', Result: 'StartPhase', ResultPath: '$.failure.step', Next: 'RollbackOnTaskFailure' });
  });

  it('WaitForNextLook and MonitorDecision', () => {
    const st = defs.canary.definition.States;
    expect(st['WaitForNextLook']).toEqual({ Type: 'Wait', SecondsPath: '$.phase.lookEverySeconds', Next: 'AnalyzeCanary' });
    expect(st['MonitorDecision']).toEqual({
      Type: 'Choice',
      Choices: [
        { Variable: '$.phase.action', StringEquals: 'continue', Next: 'WaitForNextLook' },
        { Variable: '$.phase.action', StringEquals: 'rollback', Next: 'RollbackOnVerdict' },
        { Variable: '$.phase.action', StringEquals: 'await_approval', Next: 'RequestApproval' },
        { Variable: '$.phase.action', StringEquals: 'advance', Next: 'NextPhase' },
      ],
      Default: 'UnknownMonitorAction',
    });
  });

  it('RequestApproval: lambda:invoke.waitForTaskToken, approval timeout, Rejected/Timeout/ALL catchers in order', () => {
    expect(defs.canary.definition.States['RequestApproval']).toEqual({
      Type: 'Task',
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      Parameters: {
        FunctionName: fnArn('request-approval'),
        Payload: { 'taskToken.$': '$$.Task.Token', 'releaseId.$': '$.releaseId', 'model.$': '$.model', 'version.$': '$.version', 'phase.$': '$.phase' },
      },
      TimeoutSeconds: 1440 * 60,
      ResultPath: '$.approval',
      Retry: RETRY(false),
      Catch: [
        { ErrorEquals: ['Rejected'], ResultPath: '$.rejection', Next: 'ParseRejection' },
        { ErrorEquals: ['States.Timeout'], ResultPath: '$.approvalTimeout', Next: 'RollbackOnApprovalTimeout' },
        { ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'RequestApprovalFailed' },
      ],
      Next: 'NextPhase',
    });
  });

  it('rollback states: stopExecution false, RollbackFailed ends in the Fail state of that name', () => {
    const st = defs.canary.definition.States;
    expect(st['RollbackOnVerdict']).toEqual({
      Type: 'Task',
      Resource: fnArn('rollback'),
      Parameters: { 'releaseId.$': '$.releaseId', 'model.$': '$.model', stopExecution: false, trigger: { kind: 'verdict', 'verdict.$': '$.phase.verdict' } },
      ResultPath: '$.rollback',
      TimeoutSeconds: 310,
      Retry: RETRY(true),
      Catch: [
        { ErrorEquals: ['RollbackFailed'], ResultPath: '$.rollbackError', Next: 'RollbackFailed' },
        { ErrorEquals: ['States.ALL'], ResultPath: '$.rollbackError', Next: 'RollbackFailed' },
      ],
      Next: 'RolledBack',
    });
    expect(st['RollbackFailed']).toMatchObject({ Type: 'Fail', Error: 'RollbackFailed' });
    expect(st['RollbackOnTaskFailure']).toMatchObject({ Next: 'CanaryFailed' });
    expect(st['CanaryRolledBack']).toEqual({ Type: 'Succeed', OutputPath: '$.result' });
    expect(st['RolledBack']).toMatchObject({ Type: 'Pass', Parameters: { outcome: 'rolled_back' }, ResultPath: '$.result' });
    expect(st['Promoted']).toMatchObject({ Type: 'Pass', Parameters: { outcome: 'promoted' }, ResultPath: '$.result' });
  });

  it('ParseRejection reads the approver and note from the SendTaskFailure cause (core/app/answer-approval.ts)', () => {
    expect(defs.canary.definition.States['ParseRejection']).toEqual({
      Type: 'Pass',
      Parameters: {
        'answer.$': "States.JsonMerge(States.StringToJson('{\"actor\":\"unknown operator\",\"note\":\"\"}'), States.StringToJson($.rejection.Cause), false)",
      },
      ResultPath: '$.rejectionAnswer',
      Next: 'RollbackOnRejection',
    });
    expect(defs.canary.definition.States['RollbackOnRejection']).toMatchObject({
      Parameters: {
        trigger: { kind: 'manual', 'actor.$': '$.rejectionAnswer.answer.actor', 'note.$': "States.Format('phase approval rejected: {}', $.rejectionAnswer.answer.note)" },
        stopExecution: false,
      },
    });
  });

  it('NextPhase: the last phase promotes, others advance', () => {
    expect(defs.canary.definition.States['NextPhase']).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.phase.isLast', BooleanEquals: true, Next: 'Promote' }],
      Default: 'AdvancePhase',
    });
  });
});

describe('StateMachine resources', () => {
  it.each([
    ['builderbrain-promotion', 'Promotion'],
    ['builderbrain-canary', 'Canary'],
  ])('%s: Standard, X-Ray, ALL events logged without execution data to an encrypted log group', (name) => {
    const [, sm] = resourcesOf(s.json, 'AWS::StepFunctions::StateMachine').find(([, r]) => r.Properties!['StateMachineName'] === name)!;
    const p = sm.Properties!;
    expect(p['StateMachineType']).toBe('STANDARD');
    expect(p['TracingConfiguration']).toEqual({ Enabled: true });
    expect(p['LoggingConfiguration']).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    const logGroupId = (p['LoggingConfiguration'] as { Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string, string] } } }[] }).Destinations[0]!
      .CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
    const lg = s.json.Resources[logGroupId]!.Properties!;
    // Named per stack creation (test/lib/first-deploy.test.ts): `<machine>-<8 hex digits of the stack id>`.
    expect(JSON.stringify(lg['LogGroupName'])).toContain(`"/aws/vendedlogs/states/${name}-"`);
    expect(lg['RetentionInDays']).toBe(90);
    expect(lg['KmsKeyId']).toBeDefined();
  });

  it('the canary timeout covers every phase and an approval per phase; the promotion adds deploy, converge or remove, the bake period, the bake, the recovery wait and two hours', () => {
    const canaryMinutes = 4 * 60 + 4 * 1440 + 60 + 40;
    expect(defs.canary.definition['TimeoutSeconds']).toBe(canaryMinutes * 60);
    // deployment.timeoutMinutes 60 (three loops at most: deploy, then converge or remove), bakeMinutes 60;
    // bake.minutes 1440; the recovery check 2 + 15 minutes after a rollback.
    expect(defs.promotion.definition['TimeoutSeconds']).toBe((canaryMinutes + 3 * 60 + 60 + 1440 + (2 + 15) + 120) * 60);
  });

  it('the promotion timeout follows the deployment, bake and recovery settings', () => {
    const x = synth({
      deployment: { timeoutMinutes: 30, bakeMinutes: 0 },
      phases: [{ weight: 100, monitorMinutes: 30, requiresApproval: false }],
      // Hotfixes run `phases` here: the timeouts are the one-phase plan's.
      hotfixPhases: null,
      approvalTimeoutMinutes: 60,
      bake: { minutes: 120 },
      recovery: { minutes: 10, settleMinutes: 5 },
    });
    const d = stateMachineDefinitions(x.json);
    const canaryMinutes = 30 + 60 + 60 + 10;
    expect(d.canary.definition['TimeoutSeconds']).toBe(canaryMinutes * 60);
    expect(d.promotion.definition['TimeoutSeconds']).toBe((canaryMinutes + 3 * 30 + 0 + 120 + (5 + 10) + 120) * 60);
    // With the default hotfix plan (10% for 15 min, approval → 100% for 15 min), longer than that one phase: the canary timeout covers it.
    const withHotfix = stateMachineDefinitions(synth({ phases: [{ weight: 100, monitorMinutes: 30, requiresApproval: false }], approvalTimeoutMinutes: 60 }).json);
    expect(withHotfix.canary.definition['TimeoutSeconds']).toBe((2 * 15 + 2 * 60 + 60 + 2 * 10) * 60);
    const none = stateMachineDefinitions(synth({ bake: { minutes: 0 }, recovery: { minutes: 0, settleMinutes: 0 } }).json);
    expect(none.promotion.definition['TimeoutSeconds']).toBe((4 * 60 + 4 * 1440 + 60 + 40 + 3 * 60 + 60 + 120) * 60);
  });
});
