import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run, type CliIO } from '../../cli/program.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process. Paths are read from `files` first, then from the repository. */
async function cli(argv: string[], opts: { files?: Record<string, string>; isTTY?: boolean; io?: Partial<CliIO> } = {}): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const files = opts.files ?? {};
  const io: CliIO = {
    stdout: (s) => {
      stdout += s;
    },
    stderr: (s) => {
      stderr += s;
    },
    readFile: async (path) => {
      const text = files[path];
      return text !== undefined ? text : readFile(join(ROOT, path), 'utf8');
    },
    isTTY: opts.isTTY ?? false,
    ...opts.io,
  };
  const code = await run(argv, io);
  return { code, stdout, stderr };
}

const STACK_LINE = /^\s+at /m;
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[/;

/** The table of examples/README.md: file → documented `gate` exit code and the check a fail-* fails. */
function documentedExamples(): { file: string; gate: number; check: string | undefined }[] {
  const readme = readFileSync(join(EXAMPLES, 'README.md'), 'utf8');
  const rows: { file: string; gate: number; check: string | undefined }[] = [];
  for (const line of readme.split('\n')) {
    const m = /^\| `([\w.-]+\.json)` \| (.*) \| (\d) \|$/.exec(line);
    if (m === null) continue;
    const check = /^`(\w+)`:/.exec(m[2]!)?.[1];
    rows.push({ file: m[1]!, gate: Number(m[3]), check });
  }
  return rows;
}

const EXAMPLE_ROWS = documentedExamples();
const MINOR_PASS = readFileSync(join(EXAMPLES, 'minor-pass.json'), 'utf8');
const CHECK_NAMES = ['safety', 'performance', 'constraints', 'tests', 'version', 'compatibility'];

describe('examples', () => {
  it('README documents every example file, and only those', () => {
    const onDisk = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json')).sort();
    expect(EXAMPLE_ROWS.map((r) => r.file).sort()).toEqual(onDisk);
    expect(onDisk.length).toBeGreaterThanOrEqual(13);
  });

  it.each(EXAMPLE_ROWS)('gate $file exits $gate', async ({ file, gate, check }) => {
    const r = await cli(['gate', `examples/${file}`]);
    expect(r.code, r.stderr).toBe(gate);
    expect(r.stderr).not.toMatch(STACK_LINE);
    if (gate === 2) {
      expect(r.stdout).toBe('');
      return;
    }
    expect(r.stderr).toBe('');
    for (const name of CHECK_NAMES) expect(r.stdout).toMatch(new RegExp(`^${name}\\s+(PASS|FAIL)\\s`, 'm'));
    if (gate === 0) {
      expect(r.stdout).not.toMatch(/FAIL/);
      expect(r.stdout).toMatch(/PASSED/);
    } else {
      // each fail-* example fails exactly the check its README row names
      expect(check, `README row of ${file} names its failing check`).toBeDefined();
      const failing = r.stdout.split('\n').filter((l) => /^\w+\s+FAIL\s/.test(l)).map((l) => l.split(/\s+/)[0]);
      expect(failing).toEqual([check]);
      expect(r.stdout).toMatch(/REJECTED/);
    }
  });

  it.each(EXAMPLE_ROWS)('validate and notes on $file agree with gate', async ({ file, gate }) => {
    const expected = gate === 2 ? 2 : 0;
    const v = await cli(['validate', `examples/${file}`]);
    expect(v.code).toBe(expected);
    const n = await cli(['notes', `examples/${file}`]);
    expect(n.code).toBe(expected);
    if (expected === 0) {
      expect(v.stdout).toMatch(/is a valid release manifest/);
      expect(n.stdout).toMatch(/^# .+ Release Notes\n/);
    } else {
      expect(v.stdout).toBe('');
      expect(n.stdout).toBe('');
    }
  });
});

describe('gate --json', () => {
  it.each(['minor-pass.json', 'fail-safety.json', 'fail-major-no-guide.json', 'first-release.json'])(
    'stdout of %s is only { passed, checks }',
    async (file) => {
      const r = await cli(['gate', `examples/${file}`, '--json']);
      expect([0, 1]).toContain(r.code);
      expect(r.stderr).toBe('');
      const doc = JSON.parse(r.stdout) as { passed: boolean; checks: Record<string, unknown>[] };
      expect(Object.keys(doc).sort()).toEqual(['checks', 'passed']);
      expect(doc.passed).toBe(r.code === 0);
      expect(doc.checks.map((c) => c['name'])).toEqual(CHECK_NAMES);
      for (const c of doc.checks) {
        expect(Object.keys(c).sort()).toEqual(['message', 'name', 'passed', 'threshold', 'value']);
        expect(typeof c['passed']).toBe('boolean');
        expect(['number', 'string']).toContain(typeof c['value']);
        expect(['number', 'string']).toContain(typeof c['threshold']);
        expect(typeof c['message']).toBe('string');
      }
      expect(doc.passed).toBe(doc.checks.every((c) => c['passed'] === true));
      expect(r.stdout).not.toMatch(ANSI);
    },
  );

  it('prints no colour and nothing but JSON even on a terminal', async () => {
    const r = await cli(['gate', 'examples/fail-tests.json', '--json'], { isTTY: true });
    expect(r.code).toBe(1);
    expect(r.stdout).not.toMatch(ANSI);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
  });

  it('writes nothing on stdout for an invalid manifest', async () => {
    const r = await cli(['gate', 'examples/invalid-manifest.json', '--json']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ {2}approvedBy: unknown field$/m);
  });
});

describe('gate --policy', () => {
  it('applies the thresholds of a policy file', async () => {
    const files = { 'policy.json': JSON.stringify({ gates: { minConstraintSatisfaction: 0.9 } }) };
    expect((await cli(['gate', 'examples/fail-constraints.json'], { files })).code).toBe(1);
    const r = await cli(['gate', 'examples/fail-constraints.json', '--policy', 'policy.json', '--json'], { files });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { checks: { name: string; threshold: unknown }[] };
    expect(doc.checks.find((c) => c.name === 'constraints')?.threshold).toBe(0.9);
  });

  it('a stricter policy rejects a passing release', async () => {
    const files = { 'policy.json': JSON.stringify({ gates: { minConstraintSatisfaction: 0.99 } }) };
    expect((await cli(['gate', 'examples/minor-pass.json', '--policy', 'policy.json'], { files })).code).toBe(1);
  });

  it.each([
    ['out of range', { gates: { minPerformanceDelta: 0.2 } }, 'gates.minPerformanceDelta'],
    ['wrong type', { gates: { minConstraintSatisfaction: 'high' } }, 'gates.minConstraintSatisfaction'],
    ['unknown field', { gates: { maxRiskEnergy: 0 } }, 'gates.maxRiskEnergy'],
  ])('a policy with a bad field (%s) exits 2 naming it', async (_kind, policy, path) => {
    const r = await cli(['gate', 'examples/minor-pass.json', '--policy', 'policy.json'], { files: { 'policy.json': JSON.stringify(policy) } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`^ {2}${path.replace(/\./g, '\\.')}: `, 'm'));
    expect(r.stderr).toContain("'policy.json' is not a valid policy file");
  });

  it('a policy file that is not JSON or does not exist exits 2', async () => {
    const bad = await cli(['gate', 'examples/minor-pass.json', '--policy', 'p.json'], { files: { 'p.json': '{ gates: ' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/not valid JSON/);
    const missing = await cli(['gate', 'examples/minor-pass.json', '--policy', 'no-such-policy.json']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("'no-such-policy.json'");
  });

  it('reports a bad policy and a bad manifest together', async () => {
    const r = await cli(['gate', 'examples/invalid-manifest.json', '--policy', 'p.json'], { files: { 'p.json': '{"gates":{"x":1}}' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^ {2}gates\.x: unknown field$/m);
    expect(r.stderr).toMatch(/^ {2}approvedBy: unknown field$/m);
  });
});

describe('human output', () => {
  it('the gate table lists name, PASS/FAIL, value, threshold and message of every check', async () => {
    const r = await cli(['gate', 'examples/fail-performance.json']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^CHECK\s+RESULT\s+VALUE\s+THRESHOLD\s+MESSAGE$/m);
    expect(r.stdout).toMatch(/^performance\s+FAIL\s+-8\.00%\s+≥ -5\.00%\s+performance regresses 8\.00%/m);
    expect(r.stdout).toMatch(/^safety\s+PASS\s+/m);
    expect(r.stdout).toMatch(/REJECTED: 1 of 6 checks failed \(performance\)/);
  });

  it('uses colour only on a terminal', async () => {
    const plain = await cli(['gate', 'examples/fail-safety.json']);
    expect(plain.stdout).not.toMatch(ANSI);
    const tty = await cli(['gate', 'examples/fail-safety.json'], { isTTY: true });
    expect(tty.stdout).toMatch(ANSI);
    // the table still lines up: colour codes take no room
    const strip = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, '');
    expect(strip(tty.stdout)).toBe(plain.stdout);
    const bad = await cli(['validate', 'examples/invalid-manifest.json'], { isTTY: true });
    expect(bad.stderr).toMatch(ANSI);
    expect((await cli(['validate', 'examples/invalid-manifest.json'])).stderr).not.toMatch(ANSI);
  });
});

/** The valid example with one piece of raw text replaced (the piece must be there). */
function replaceRaw(from: string, to: string): string {
  if (!MINOR_PASS.includes(from)) throw new Error(`examples/minor-pass.json no longer contains ${from}`);
  return MINOR_PASS.replace(from, to);
}

/** Invalid manifests of every kind in manifest.md, made from the valid example. */
function mutate(edit: (m: Record<string, any>) => void): string {
  const m = JSON.parse(MINOR_PASS) as Record<string, any>;
  edit(m);
  return JSON.stringify(m, null, 2);
}

const INVALID: { kind: string; text: string; path: string; says: RegExp }[] = [
  {
    kind: 'NaN (not JSON)',
    text: replaceRaw('"candidate": 0.41', '"candidate": NaN'),
    path: '(root)',
    says: /not valid JSON/,
  },
  {
    kind: 'Infinity (1e999 parses to Infinity)',
    text: replaceRaw('"candidate": 0.41', '"candidate": 1e999'),
    path: 'shadowEvaluation.riskEnergy.candidate',
    says: /Infinity/,
  },
  {
    kind: '-Infinity (-1e999)',
    text: replaceRaw('"baseline": 0.82', '"baseline": -1e999'),
    path: 'shadowEvaluation.performance.baseline',
    says: /Infinity/,
  },
  {
    kind: 'negative number',
    text: mutate((m) => (m['shadowEvaluation'].riskEnergy.candidate = -0.1)),
    path: 'shadowEvaluation.riskEnergy.candidate',
    says: /Too small/,
  },
  {
    kind: 'out of range',
    text: mutate((m) => (m['shadowEvaluation'].constraintSatisfaction = 1.2)),
    path: 'shadowEvaluation.constraintSatisfaction',
    says: /Too big/,
  },
  {
    kind: 'not an integer',
    text: mutate((m) => (m['shadowEvaluation'].tests.failed = 0.5)),
    path: 'shadowEvaluation.tests.failed',
    says: /int/,
  },
  {
    kind: 'wrong type',
    text: mutate((m) => (m['shadowEvaluation'].constraintSatisfaction = '0.97')),
    path: 'shadowEvaluation.constraintSatisfaction',
    says: /expected number, received string/,
  },
  {
    kind: 'missing field',
    text: mutate((m) => delete m['owner']),
    path: 'owner',
    says: /missing/,
  },
  {
    kind: 'missing nested field',
    text: mutate((m) => delete m['shadowEvaluation'].tests),
    path: 'shadowEvaluation.tests',
    says: /missing/,
  },
  {
    kind: 'unknown top-level field',
    text: mutate((m) => (m['approvedBy'] = 'someone')),
    path: 'approvedBy',
    says: /unknown field/,
  },
  {
    kind: 'bad sha256',
    text: mutate((m) => (m['artifact'].sha256 = '9f2c...64 hex chars...')),
    path: 'artifact.sha256',
    says: /64 lowercase hex/,
  },
  {
    kind: 'empty changelog entry',
    text: mutate((m) => (m['changelog'].fixes = ['ok', '  '])),
    path: 'changelog.fixes[1]',
    says: /non-empty/,
  },
  {
    kind: 'not JSON',
    text: '{ "model": "builderbrain", ',
    path: '(root)',
    says: /not valid JSON/,
  },
  {
    kind: 'not an object',
    text: '[1, 2, 3]',
    path: '(root)',
    says: /expected object/,
  },
  {
    kind: 'over 256 KiB',
    text: mutate((m) => (m['changelog'].features = Array.from({ length: 3000 }, (_, i) => `feature ${i} `.padEnd(100, 'x')))),
    path: '(root)',
    says: /over the limit of 262144 bytes/,
  },
];

describe('invalid manifests exit 2 naming every bad field by its path', () => {
  it('the oversized case is really over 256 KiB and otherwise valid JSON', () => {
    const big = INVALID.find((c) => c.kind === 'over 256 KiB')!.text;
    expect(Buffer.byteLength(big)).toBeGreaterThan(256 * 1024);
    expect(() => JSON.parse(big)).not.toThrow();
    expect(JSON.parse(INVALID[1]!.text).shadowEvaluation.riskEnergy.candidate).toBe(Infinity);
  });

  const cases = INVALID.flatMap((c) => ['validate', 'gate', 'notes'].map((command) => ({ ...c, command })));
  it.each(cases)('$command: $kind', async ({ command, text, path, says }) => {
    const r = await cli([command, 'bad.json'], { files: { 'bad.json': text } });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("'bad.json' is not a valid release manifest");
    const line = r.stderr.split('\n').find((l) => l.startsWith(`  ${path}: `));
    expect(line, r.stderr).toBeDefined();
    expect(line).toMatch(says);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('names each of several bad fields on its own line', async () => {
    const r = await cli(['validate', 'examples/invalid-manifest.json']);
    expect(r.code).toBe(2);
    for (const path of [
      'model',
      'version',
      'releaseType',
      'artifact.uri',
      'artifact.sha256',
      'shadowEvaluation.riskEnergy.candidate',
      'shadowEvaluation.performance.baseline',
      'shadowEvaluation.constraintSatisfaction',
      'shadowEvaluation.tests.passed',
      'shadowEvaluation.tests.failed',
      'changelog.features[1]',
      'migrationGuide',
      'owner',
      'approvedBy',
    ]) {
      expect(r.stderr.split('\n').filter((l) => l.startsWith(`  ${path}: `)), path).toHaveLength(1);
    }
    expect(r.stderr).toMatch(/\(14 problems\)/);
  });
});

describe('files that cannot be read', () => {
  it('a missing file exits 2 with a sentence naming it and what to do', async () => {
    for (const command of ['validate', 'gate', 'notes']) {
      const r = await cli([command, 'no/such/release.json']);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/'no\/such\/release\.json': no such file\. Check the path/);
      expect(r.stderr).not.toMatch(STACK_LINE);
    }
  });

  it('a directory exits 2', async () => {
    const r = await cli(['validate', 'examples']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'examples': it is a directory/);
  });

  it('an unreadable file exits 2', async () => {
    const denied = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    const r = await cli(['gate', 'secret.json'], { io: { readFile: () => Promise.reject(denied) } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/'secret\.json': permission denied/);
  });
});

describe('command line', () => {
  it.each([
    ['unknown option', ['gate', 'examples/minor-pass.json', '--bogus'], /unknown option '--bogus'/, 'gate'],
    ['missing argument', ['validate'], /missing required argument 'manifest\.json'/, 'validate'],
    ['unknown command', ['deploy', 'x.json'], /unknown command 'deploy'/, ''],
    ['excess argument', ['notes', 'a.json', 'b.json'], /too many arguments/, 'notes'],
    ['option missing its value', ['gate', 'examples/minor-pass.json', '--policy'], /option '--policy <file>' argument missing/, 'gate'],
    ['unknown global option', ['--verbose', 'validate', 'x.json'], /unknown option '--verbose'/, ''],
  ])('%s exits 2 with a hint to run --help', async (_kind, argv, message, command) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain(`Run 'builderbrain ${command ? `${command} ` : ''}--help' for usage.`);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('suggests the command meant', async () => {
    const r = await cli(['gat', 'x.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/Did you mean gate\?/);
  });

  it('no command at all exits 2 with the usage on stderr', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Usage: builderbrain/);
  });

  it.each([[['--help']], [['-h']], [['validate', '--help']], [['gate', '--help']], [['notes', '--help']], [['help', 'gate']]])(
    '%j prints help on stdout and exits 0',
    async (argv) => {
      const r = await cli(argv);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Usage: builderbrain/);
      if (argv.includes('gate')) expect(r.stdout).toMatch(/--policy <file>/);
    },
  );

  it('--version prints the package version', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it('an unexpected failure exits 1 with a message, not a stack trace', async () => {
    const r = await cli(['validate', 'examples/minor-pass.json'], {
      io: {
        stdout: () => {
          throw new Error('stdout is gone');
        },
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/internal error of builderbrain: stdout is gone/);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });
});

describe('the installed binary', () => {
  const env = {
    ...process.env,
    PATH: `${join(ROOT, 'node_modules', '.bin')}${delimiter}${process.env['PATH'] ?? ''}`,
    NO_COLOR: '1',
  };
  const npx = (args: string[]) => spawnSync('npx', ['--no-install', 'builderbrain', ...args], { cwd: ROOT, env, encoding: 'utf8' });

  it('npx builderbrain validate on an invalid manifest exits 2 without a stack trace', () => {
    const r = npx(['validate', 'examples/invalid-manifest.json']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ {2}shadowEvaluation\.riskEnergy\.candidate: Too small/m);
    expect(r.stderr).not.toMatch(STACK_LINE);
  });

  it('npx builderbrain gate --json writes only JSON on stdout', () => {
    const r = npx(['gate', 'examples/minor-pass.json', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { passed: boolean }).passed).toBe(true);
  });
});
