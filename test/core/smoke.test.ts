/**
 * core/smoke.ts: each smoke answer judged (no invocation error, in time, and — with a JSON Schema —
 * a JSON body of the expected shape, checked with Ajv), the verdict over all samples, and the
 * config-time check of the samples.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SmokeSampleSchema, type SmokeResponse, type SmokeSample } from '../../core/deployment.js';
import { checkSmokeSchemas, judgeSmoke, smokeVerdict, type SmokeResult } from '../../core/smoke.js';

const sampleOf = (over: Record<string, unknown>): SmokeSample => SmokeSampleSchema.parse({ name: 's', body: '{}', ...over });
const ok = (body: string, latencyMs = 120): SmokeResponse => ({ error: null, body, latencyMs });

describe('judgeSmoke', () => {
  const SCHEMA = {
    type: 'object',
    required: ['answer'],
    properties: { answer: { type: 'string' }, plan: { type: 'object', required: ['steps'], properties: { steps: { type: 'array', items: { type: 'string' }, minItems: 1 } } } },
  };
  const shaped = sampleOf({ name: 'plan a build', body: '{"prompt":"build a shed"}', expect: { jsonSchema: SCHEMA, maxLatencyMs: 2000 } });
  const plain = sampleOf({ name: 'ping', contentType: 'text/plain', body: 'ping' });

  it.each<[string, SmokeSample, SmokeResponse, { passed: boolean; message: string }]>([
    ['the expected shape in time', shaped, ok('{"answer":"ok","plan":{"steps":["parse"]}}'), { passed: true, message: 'plan a build: answered in 120 ms with the expected shape' }],
    ['extra fields are fine', shaped, ok('{"answer":"ok","tokens":17}'), { passed: true, message: 'plan a build: answered in 120 ms with the expected shape' }],
    ['exactly at the limit', shaped, ok('{"answer":"ok"}', 2000), { passed: true, message: 'plan a build: answered in 2000 ms with the expected shape' }],
    ['an invocation error', shaped, { error: 'ModelError: 500 from primary', body: '', latencyMs: 240 }, { passed: false, message: 'plan a build: the candidate failed the request: ModelError: 500 from primary' }],
    ['over the limit (rounded in the message)', shaped, ok('{"answer":"ok"}', 2000.4), { passed: false, message: 'plan a build: answered in 2000 ms, over the limit of 2000 ms' }],
    ['not JSON', shaped, ok('<html>502 Bad Gateway</html>'), { passed: false, message: 'plan a build: the response is not JSON: <html>502 Bad Gateway</html>' }],
    ['a missing field', shaped, ok('{"output":null}'), { passed: false, message: "plan a build: the response does not have the expected shape ((root): must have required property 'answer')" }],
    ['a field of the wrong type', shaped, ok('{"answer":1}'), { passed: false, message: 'plan a build: the response does not have the expected shape (/answer: must be string)' }],
    ['a nested field wrong', shaped, ok('{"answer":"ok","plan":{"steps":[]}}'), { passed: false, message: 'plan a build: the response does not have the expected shape (/plan/steps: must NOT have fewer than 1 items)' }],
    ['the wrong root', shaped, ok('[1,2]'), { passed: false, message: 'plan a build: the response does not have the expected shape ((root): must be object)' }],
    ['no schema: any body will do', plain, ok('pong, not JSON'), { passed: true, message: 'ping: answered in 120 ms with the expected shape' }],
    ['no schema: the default 10 s limit', plain, ok('pong', 10_001), { passed: false, message: 'ping: answered in 10001 ms, over the limit of 10000 ms' }],
  ])('%s', (_name, sample, response, want) => {
    expect(judgeSmoke(sample, response)).toEqual({ name: sample.name, latencyMs: response.latencyMs, ...want });
  });

  it('the full JSON Schema vocabulary: required without properties, enum, pattern', () => {
    const bare = sampleOf({ name: 'bare', expect: { jsonSchema: { type: 'object', required: ['answer'] } } });
    expect(judgeSmoke(bare, ok('{"output":null}')).passed).toBe(false);
    expect(judgeSmoke(bare, ok('{"answer":null}')).passed).toBe(true);
    const status = sampleOf({ name: 'status', expect: { jsonSchema: { type: 'object', properties: { status: { enum: ['ok', 'degraded'] }, id: { type: 'string', pattern: '^req-[0-9]+$' } } } } });
    expect(judgeSmoke(status, ok('{"status":"ok","id":"req-17"}')).passed).toBe(true);
    expect(judgeSmoke(status, ok('{"status":"down"}')).message).toContain('/status: must be equal to one of the allowed values');
    expect(judgeSmoke(status, ok('{"id":"17"}')).message).toContain('/id: must match pattern');
  });

  it('long errors and bodies are cut at 300 characters; at most 5 shape issues are named', () => {
    expect(judgeSmoke(shaped, { error: 'E'.repeat(1000), body: '', latencyMs: 1 }).message).toBe(`plan a build: the candidate failed the request: ${'E'.repeat(300)}…`);
    expect(judgeSmoke(shaped, ok('x'.repeat(1000))).message).toBe(`plan a build: the response is not JSON: ${'x'.repeat(300)}…`);
    expect(judgeSmoke(shaped, ok('y'.repeat(300))).message.endsWith('y'.repeat(300))).toBe(true);
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const many = judgeSmoke(sampleOf({ name: 'many', expect: { jsonSchema: { type: 'object', required: keys } } }), ok('{}'));
    expect(many.passed).toBe(false);
    expect(many.message.match(/must have required property '(\w)'/g)).toEqual(keys.slice(0, 5).map((k) => `must have required property '${k}'`));
  });

  it('property: with a JSON Schema, passed exactly when there is no error, the answer is in time and its body has the shape', () => {
    const sample = sampleOf({ name: 'shape', expect: { jsonSchema: { type: 'object', required: ['answer'], properties: { answer: { type: 'string' } } }, maxLatencyMs: 1000 } });
    const bodyArb = fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .record({ answer: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), rest: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })) })
        .map(({ answer, rest }) => JSON.stringify({ ...rest, answer })),
      fc.string(),
    );
    const responseArb = fc.record({ error: fc.option(fc.string({ minLength: 1 }), { nil: null, freq: 4 }), body: bodyArb, latencyMs: fc.double({ min: 0, max: 2000, noNaN: true }) });
    const shapeOk = (body: string): boolean => {
      try {
        const v = JSON.parse(body) as unknown;
        return typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as Record<string, unknown>).answer === 'string';
      } catch {
        return false;
      }
    };
    fc.assert(
      fc.property(responseArb, (response) => {
        const r = judgeSmoke(sample, response);
        expect(r.passed).toBe(response.error === null && response.latencyMs <= 1000 && shapeOk(response.body));
        expect(r.message.startsWith('shape: ')).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('checkSmokeSchemas', () => {
  it('every expected shape compiles; a JSON sample has a JSON body, with or without a shape', () => {
    expect(checkSmokeSchemas([sampleOf({ expect: { jsonSchema: { type: 'object' } } }), sampleOf({}), sampleOf({ contentType: 'text/plain', body: 'ping' })])).toEqual([]);
    const issues = checkSmokeSchemas([
      sampleOf({}),
      sampleOf({ expect: { jsonSchema: { type: 'frobnicate' } } }),
      sampleOf({ body: '{"unterminated', expect: { jsonSchema: { type: 'object' } } }),
      sampleOf({ contentType: 'text/csv', body: 'a,b', expect: { jsonSchema: { type: 'object' } } }),
      sampleOf({ body: 'ping' }),
      sampleOf({ contentType: 'application/vnd.bb+json', body: 'ping', expect: { jsonSchema: { $ref: '#/$defs/missing' } } }),
    ]);
    expect(issues.map((i) => i.path)).toEqual([
      'deployment.smoke[1].expect.jsonSchema',
      'deployment.smoke[2].body',
      'deployment.smoke[4].body',
      'deployment.smoke[5].body',
      'deployment.smoke[5].expect.jsonSchema',
    ]);
    expect(issues[0]!.message).toMatch(/^is not a valid JSON Schema \(schema is invalid: data\/type must be equal to one of the allowed values/);
    expect(issues[1]!.message).toBe('is not JSON although contentType is application/json');
    expect(issues[3]!.message).toBe('is not JSON although contentType is application/vnd.bb+json');
    expect(issues[4]!.message).toMatch(/^is not a valid JSON Schema \(can't resolve reference #\/\$defs\/missing/);
  });

  it('a remote $ref is refused, never fetched', () => {
    expect(checkSmokeSchemas([sampleOf({ expect: { jsonSchema: { $ref: 'https://schemas.example.com/answer.json' } } })])).toEqual([
      { path: 'deployment.smoke[0].expect.jsonSchema', message: expect.stringMatching(/^is not a valid JSON Schema \(can't resolve reference https:\/\/schemas\.example\.com\/answer\.json/) },
    ]);
  });

  // Source bug (reported): shapes are compiled into one shared Ajv instance keyed by their text, so
  // two different, valid shapes that carry the same `$id` collide: the second is refused here (and
  // throws at smoke time). Flip to `it` once fixed.
  it('two valid shapes that share an $id are both accepted', () => {
    const a = sampleOf({ name: 'a', expect: { jsonSchema: { $id: 'https://bb.example/answer', type: 'object', required: ['answer'] } } });
    const b = sampleOf({ name: 'b', expect: { jsonSchema: { $id: 'https://bb.example/answer', type: 'object', required: ['plan'] } } });
    expect(checkSmokeSchemas([a, b])).toEqual([]);
  });
});

describe('smokeVerdict', () => {
  const r = (name: string, passed: boolean): SmokeResult => ({ name, passed, latencyMs: 10, message: `${name}: ${passed ? 'ok' : 'broke'}` });
  it.each<[string, SmokeResult[], { passed: boolean; summary: string }]>([
    ['no samples: being in service is the check', [], { passed: true, summary: 'no smoke samples configured: the deployment being in service is the check' }],
    ['all passed', [r('a', true), r('b', true)], { passed: true, summary: '2 smoke request(s) passed' }],
    ['one failed: failed, naming it', [r('a', true), r('b', false)], { passed: false, summary: '1 of 2 smoke request(s) failed: b: broke' }],
    ['all failed', [r('a', false), r('b', false)], { passed: false, summary: '2 of 2 smoke request(s) failed: a: broke; b: broke' }],
  ])('%s', (_name, results, want) => {
    expect(smokeVerdict(results)).toEqual({ ...want, results });
  });
});
