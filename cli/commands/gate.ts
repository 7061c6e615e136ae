import type { Command } from 'commander';
import { evaluateGates, type GateCheck, type GateResult } from '../../core/gates.js';
import type { ReleaseManifest } from '../../core/manifest.js';
import { DEFAULT_POLICY, PolicySchema, type Policy } from '../../core/policy.js';
import {
  EXIT,
  MANIFEST_HINT,
  formatTable,
  loadManifest,
  loadSchemaFile,
  reportLoadFailure,
  styleFor,
  type CliIO,
  type CommandContext,
} from '../common.js';

/** Largest policy file accepted: it holds a handful of thresholds. */
export const MAX_POLICY_BYTES = 64 * 1024;

export interface GateOptions {
  readonly json?: boolean;
  readonly policy?: string;
}

const pct = (x: number, signed = false): string => `${signed && x > 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;

/** The value and threshold of a check as people read them (the JSON output keeps the raw numbers). */
export function describeCheck(c: GateCheck): { value: string; threshold: string } {
  const raw = (v: number | string): string => (typeof v === 'number' ? String(Number(v.toPrecision(6))) : v);
  if (typeof c.value !== 'number' || typeof c.threshold !== 'number') {
    return { value: raw(c.value), threshold: raw(c.threshold) };
  }
  switch (c.name) {
    case 'safety':
      return { value: `ΔV_s ${c.value > 0 ? '+' : ''}${c.value.toFixed(4)}`, threshold: `≤ ${c.threshold}` };
    case 'performance':
      return { value: pct(c.value, true), threshold: `≥ ${pct(c.threshold)}` };
    case 'constraints':
      return { value: pct(c.value), threshold: `≥ ${pct(c.threshold)}` };
    case 'tests':
      return { value: `${c.value} failed`, threshold: `${c.threshold} failed` };
    case 'compatibility':
      return { value: `${c.value} breaking`, threshold: `${c.threshold} breaking` };
    default:
      return { value: raw(c.value), threshold: raw(c.threshold) };
  }
}

/** The human report: one row per check, then a verdict line. */
export function formatGateReport(io: CliIO, m: ReleaseManifest, result: GateResult): string {
  const s = styleFor(io);
  const from = m.previousVersion === null ? 'first release' : `${m.releaseType} from ${m.previousVersion}`;
  const rows = result.checks.map((c) => {
    const { value, threshold } = describeCheck(c);
    return [c.name, c.passed ? s.green('PASS') : s.red('FAIL'), value, threshold, c.message];
  });
  const failed = result.checks.filter((c) => !c.passed);
  const verdict = result.passed
    ? `${s.green(s.bold('PASSED'))}: all ${result.checks.length} checks pass; ${m.model} ${m.version} may proceed to canary.`
    : `${s.red(s.bold('REJECTED'))}: ${failed.length} of ${result.checks.length} checks failed (${failed.map((c) => c.name).join(', ')}); ${m.model} ${m.version} does not proceed.`;
  return (
    `${s.bold(`Promotion gates for ${m.model} ${m.version}`)} (${from})\n\n` +
    formatTable(
      ['CHECK', 'RESULT', 'VALUE', 'THRESHOLD', 'MESSAGE'].map((h) => s.bold(h)),
      rows,
    ) +
    `\n${verdict}\n`
  );
}

/**
 * `builderbrain gate <manifest.json> [--json] [--policy <file>]`: 0 every check passes, 1 rejected,
 * 2 invalid input. With `--json`, stdout holds only `{ "passed": ..., "checks": [...] }`.
 */
export async function gateCommand(io: CliIO, file: string, opts: GateOptions): Promise<number> {
  let policy: Policy = DEFAULT_POLICY;
  let invalid = false;
  if (opts.policy !== undefined) {
    const loaded = await loadSchemaFile(io, opts.policy, 'policy file', PolicySchema, MAX_POLICY_BYTES);
    if (loaded.ok) policy = loaded.value;
    else {
      reportLoadFailure(io, opts.policy, 'policy file', loaded);
      if (loaded.kind === 'invalid') {
        io.stderr('Fix the fields above (thresholds of policy.md, e.g. { "gates": { "minPerformanceDelta": -0.05 } }) and run the command again.\n');
      }
      invalid = true;
    }
  }
  const manifest = await loadManifest(io, file);
  if (!manifest.ok) {
    reportLoadFailure(io, file, 'release manifest', manifest);
    if (manifest.kind === 'invalid') io.stderr(MANIFEST_HINT);
    return EXIT.invalid;
  }
  if (invalid) return EXIT.invalid;

  const result = evaluateGates(manifest.value, policy.gates);
  if (opts.json === true) {
    io.stdout(`${JSON.stringify({ passed: result.passed, checks: result.checks }, null, 2)}\n`);
  } else {
    io.stdout(formatGateReport(io, manifest.value, result));
  }
  return result.passed ? EXIT.ok : EXIT.rejected;
}

export function registerGate(program: Command, ctx: CommandContext): void {
  program
    .command('gate')
    .description('run the promotion gates of policy.md §1 on a release manifest')
    .argument('<manifest.json>', 'path of the release manifest')
    .option('--json', 'print only the JSON result { "passed": ..., "checks": [...] } on stdout')
    .option('--policy <file>', 'JSON policy file overriding the default thresholds, e.g. { "gates": { "minConstraintSatisfaction": 0.97 } }')
    .addHelpText(
      'after',
      '\nChecks: safety, performance, constraints, tests, version, compatibility (every one is reported).\n' +
        'Exit codes: 0 all checks pass · 1 rejected · 2 invalid input\n' +
        'Examples:\n  $ builderbrain gate release.json\n  $ builderbrain gate release.json --json --policy policy.json\n',
    )
    .action(async (file: string, opts: GateOptions) => {
      ctx.setExitCode(await gateCommand(ctx.io, file, opts));
    });
}
