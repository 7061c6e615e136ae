/**
 * The canary alarms on a fleet that does not publish zero-valued datapoints (most do not: a minute
 * without errors has no `Errors` datapoint). CloudWatch metric math gives no datapoint where an
 * operand has none, so a ratio over raw `Sum` series is empty in exactly the minutes that matter
 * (baseline without errors, the 100% phase without a baseline) and the alarm never fires. The
 * synthesized expressions are evaluated here with those semantics, taken at their strictest:
 * a missing operand or a division by zero makes the result missing, in either branch of an IF.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { alarmRules, DEFAULT_ALARM_POLICY, type MetricId, type PeriodValues } from '../../core/alarms.js';
import { canaryAlarmName } from '../../core/runtime-config.js';
import { resourcesOf, synth, type Synthesized } from './fixture.js';

// ---- a CloudWatch metric-math evaluator, one period at a time -------------------------------------

type Value = number | undefined;
type Node =
  | { k: 'num'; v: number }
  | { k: 'id'; name: string }
  | { k: 'call'; fn: string; args: Node[] }
  | { k: 'bin'; op: string; l: Node; r: Node }
  | { k: 'neg'; e: Node };

function parse(src: string): Node {
  const tokens = src.match(/\d+(\.\d+)?(e-?\d+)?|[A-Za-z_][A-Za-z0-9_]*|>=|<=|==|!=|[-+*/(),<>]/g) ?? [];
  expect(tokens.join(''), 'the expression tokenizes completely').toBe(src.replace(/\s+/g, ''));
  let i = 0;
  const peek = () => tokens[i];
  const take = (t?: string) => {
    const tok = tokens[i++];
    if (t !== undefined && tok !== t) throw new Error(`expected ${t} at token ${i - 1} of ${src}, got ${tok}`);
    return tok!;
  };
  const level = (ops: string[], next: () => Node) => (): Node => {
    let l = next();
    while (peek() !== undefined && ops.includes(peek()!)) {
      const op = take();
      l = { k: 'bin', op, l, r: next() };
    }
    return l;
  };
  const primary = (): Node => {
    const t = take();
    if (t === '(') {
      const e = or();
      take(')');
      return e;
    }
    if (t === '-') return { k: 'neg', e: primary() };
    if (/^\d/.test(t)) return { k: 'num', v: Number(t) };
    if (peek() === '(') {
      take('(');
      const args: Node[] = [or()];
      while (peek() === ',') {
        take(',');
        args.push(or());
      }
      take(')');
      return { k: 'call', fn: t, args };
    }
    return { k: 'id', name: t };
  };
  const mul = level(['*', '/'], primary);
  const add = level(['+', '-'], mul);
  const cmp = level(['>=', '<=', '>', '<', '==', '!='], add);
  const and = level(['AND'], cmp);
  const or: () => Node = level(['OR'], and);
  const e = or();
  expect(i, `parsed all of ${src}`).toBe(tokens.length);
  return e;
}

/** One period: an id without a datapoint is undefined; so is anything computed from it. */
function evaluate(n: Node, data: Readonly<Record<string, number | undefined>>): Value {
  switch (n.k) {
    case 'num':
      return n.v;
    case 'id':
      if (!(n.name in data)) throw new Error(`unknown id ${n.name}`);
      return data[n.name];
    case 'neg': {
      const v = evaluate(n.e, data);
      return v === undefined ? undefined : -v;
    }
    case 'call': {
      const args = n.args.map((a) => evaluate(a, data));
      if (n.fn === 'FILL') return args[0] ?? args[1];
      if (n.fn === 'IF') {
        // Strictest reading: a missing branch makes the result missing even when not selected.
        if (args.some((a) => a === undefined)) return undefined;
        return args[0] !== 0 ? args[1] : args[2];
      }
      throw new Error(`function ${n.fn} not modelled`);
    }
    case 'bin': {
      const l = evaluate(n.l, data);
      const r = evaluate(n.r, data);
      if (l === undefined || r === undefined) return undefined;
      const b = (x: boolean) => (x ? 1 : 0);
      switch (n.op) {
        case '+': return l + r;
        case '-': return l - r;
        case '*': return l * r;
        case '/': return r === 0 ? undefined : l / r;
        case '>': return b(l > r);
        case '>=': return b(l >= r);
        case '<': return b(l < r);
        case '<=': return b(l <= r);
        case '==': return b(l === r);
        case '!=': return b(l !== r);
        case 'AND': return b(l !== 0 && r !== 0);
        case 'OR': return b(l !== 0 || r !== 0);
      }
      throw new Error(`operator ${n.op} not modelled`);
    }
  }
}

// ---- the synthesized alarms ------------------------------------------------------------------------

let s: Synthesized;
beforeAll(() => {
  s = synth();
});

const RULES = alarmRules(DEFAULT_ALARM_POLICY);

/** The synthesized alarm of a rule: its expression (parsed) and the metric ids it reads. */
function alarmOf(suffix: string): { expression: Node; ids: MetricId[]; threshold: number } {
  const [, alarm] = resourcesOf(s.json, 'AWS::CloudWatch::Alarm').find(([, a]) => a.Properties!['AlarmName'] === canaryAlarmName('builderbrain', 'builderbrain', suffix as never))!;
  const metrics = alarm.Properties!['Metrics'] as { Id: string; Expression?: string; MetricStat?: unknown }[];
  const expressions = metrics.filter((m) => m.Expression !== undefined);
  expect(expressions).toHaveLength(1);
  return {
    expression: parse(expressions[0]!.Expression!),
    ids: metrics.filter((m) => m.MetricStat !== undefined).map((m) => m.Id as MetricId),
    threshold: alarm.Properties!['Threshold'] as number,
  };
}

/**
 * What CloudWatch holds for one period of a fleet that publishes no zeros: a count of 0 has no
 * datapoint, nor do a variant's latency and risk energy when it served no request.
 */
function published(v: PeriodValues): Record<MetricId, number | undefined> {
  const count = (x: number) => (x === 0 ? undefined : x);
  const c = v.reqC > 0;
  const b = v.reqB > 0;
  return {
    reqC: count(v.reqC),
    reqB: count(v.reqB),
    errC: count(v.errC),
    errB: count(v.errB),
    cvC: count(v.cvC),
    cvB: count(v.cvB),
    safeC: count(v.safeC),
    p99C: c ? v.p99C : undefined,
    p99B: b ? v.p99B : undefined,
    riskC: c ? v.riskC : undefined,
    riskB: b ? v.riskB : undefined,
  };
}

/** The alarm's value of a period as NOT_BREACHING sees it: no datapoint counts as 0. */
function alarmValue(suffix: string, v: PeriodValues): number {
  const a = alarmOf(suffix);
  const all = published(v);
  const data = Object.fromEntries(a.ids.map((id) => [id, all[id]]));
  return evaluate(a.expression, data) ?? 0;
}

const quiet: PeriodValues = { reqC: 0, reqB: 0, errC: 0, errB: 0, p99C: 0, p99B: 0, riskC: 0, riskB: 0, cvC: 0, cvB: 0, safeC: 0 };

describe('canary alarms on a fleet that publishes no zero-valued datapoints', () => {
  it('error rate: canary errors while the baseline has none (no Errors datapoint) breach', () => {
    const v = { ...quiet, reqC: 1000, reqB: 99_000, errC: 40, p99C: 100, p99B: 100, riskC: 1, riskB: 1 };
    const rule = RULES.find((r) => r.suffix === 'error-rate')!;
    expect(rule.evaluate(v)).toBeGreaterThan(rule.threshold);
    expect(alarmValue('error-rate', v)).toBeGreaterThan(rule.threshold);
  });

  it('constraint violations at 100% (no baseline series at all) breach on the absolute ceiling', () => {
    const v = { ...quiet, reqC: 100_000, cvC: 10_000, p99C: 100, riskC: 1 };
    const rule = RULES.find((r) => r.suffix === 'constraint-violations')!;
    expect(rule.evaluate(v)).toBeGreaterThan(rule.threshold);
    expect(alarmValue('constraint-violations', v)).toBeGreaterThan(rule.threshold);
  });

  it('constraint violations while the baseline has none (no datapoint) breach', () => {
    const v = { ...quiet, reqC: 1000, reqB: 99_000, cvC: 100, p99C: 100, p99B: 100, riskC: 1, riskB: 1 };
    expect(alarmValue('constraint-violations', v)).toBeGreaterThan(RULES.find((r) => r.suffix === 'constraint-violations')!.threshold);
  });

  it('a healthy period without errors or violations anywhere is a value (0), not a gap', () => {
    const v = { ...quiet, reqC: 1000, reqB: 99_000, p99C: 100, p99B: 100, riskC: 1, riskB: 1 };
    for (const suffix of ['error-rate', 'constraint-violations', 'safety-incidents']) {
      const a = alarmOf(suffix);
      const all = published(v);
      expect(evaluate(a.expression, Object.fromEntries(a.ids.map((id) => [id, all[id]]))), suffix).toBe(0);
    }
  });

  it('every alarm computes what core/alarms.ts evaluates (missing = 0), for any period', () => {
    const count = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 200_000 }));
    const period = fc
      .record({ reqC: count, reqB: count, errC: count, errB: count, cvC: count, cvB: count, safeC: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3 })) , p99C: fc.double({ min: 1, max: 5000, noNaN: true }), p99B: fc.double({ min: 1, max: 5000, noNaN: true }), riskC: fc.double({ min: 0.01, max: 5, noNaN: true }), riskB: fc.double({ min: 0.01, max: 5, noNaN: true }) })
      .map((v) => ({
        ...v,
        errC: Math.min(v.errC, v.reqC),
        errB: Math.min(v.errB, v.reqB),
        cvC: Math.min(v.cvC, v.reqC),
        cvB: Math.min(v.cvB, v.reqB),
        // What local/fleet.ts periodValues gives for a variant without requests.
        p99C: v.reqC > 0 ? v.p99C : 0,
        p99B: v.reqB > 0 ? v.p99B : 0,
        riskC: v.reqC > 0 ? v.riskC : 0,
        riskB: v.reqB > 0 ? v.riskB : 0,
      }));
    fc.assert(
      fc.property(period, (v) => {
        for (const rule of RULES) {
          const expected = rule.evaluate(v);
          const got = alarmValue(rule.suffix, v);
          if (Math.abs(got - expected) > 1e-9 * Math.max(1, Math.abs(expected))) {
            throw new Error(`${rule.suffix}: alarm ${got}, rule ${expected} for ${JSON.stringify(v)}`);
          }
        }
      }),
      { numRuns: 400, seed: 11 },
    );
  });
});
