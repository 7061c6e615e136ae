/**
 * Smoke tests (RELEASE.md §7.2): the candidate's answers to the configured requests, judged before
 * any user traffic reaches it. Expected shapes are JSON Schema (draft 2020-12) checked with Ajv; kept
 * apart from core/deployment.ts so that only the serving step and the config load Ajv.
 */
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { FieldIssue } from './errors.js';
import type { SmokeResponse, SmokeResult, SmokeSample } from './deployment.js';

export type { SmokeResult } from './deployment.js';

/**
 * Judges one smoke response: no invocation error, within the latency limit, and (when a JSON Schema
 * is given) a JSON body that satisfies it. The schema is compiled with zod's JSON Schema reader.
 */
export function judgeSmoke(sample: SmokeSample, response: SmokeResponse): SmokeResult {
  const base = { name: sample.name, latencyMs: response.latencyMs };
  if (response.error !== null) return { ...base, passed: false, message: `${sample.name}: the candidate failed the request: ${truncate(response.error)}` };
  if (response.latencyMs > sample.expect.maxLatencyMs) {
    return { ...base, passed: false, message: `${sample.name}: answered in ${Math.round(response.latencyMs)} ms, over the limit of ${sample.expect.maxLatencyMs} ms` };
  }
  if (sample.expect.jsonSchema !== undefined) {
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      return { ...base, passed: false, message: `${sample.name}: the response is not JSON: ${truncate(response.body)}` };
    }
    const validate = compileShape(sample.expect.jsonSchema);
    if (!validate(body)) {
      const issues = (validate.errors ?? []).map((e) => `${e.instancePath === '' ? '(root)' : e.instancePath}: ${e.message ?? 'invalid'}`).slice(0, 5);
      return { ...base, passed: false, message: `${sample.name}: the response does not have the expected shape (${issues.join('; ')})` };
    }
  }
  return { ...base, passed: true, message: `${sample.name}: answered in ${Math.round(response.latencyMs)} ms with the expected shape` };
}

/**
 * Compiles an expected shape with Ajv (JSON Schema draft 2020-12, the full vocabulary: `required`
 * without `properties`, `enum`, `pattern`, …). A schema Ajv refuses is a config error, checked at
 * synth by {@link checkSmokeSchemas}. Remote `$ref`s are never fetched.
 */
const compiled = new Map<string, ValidateFunction>();
function compileShape(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = compiled.get(key);
  if (v === undefined) {
    // One Ajv per schema: two samples' schemas may carry the same $id without clashing.
    v = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
    compiled.set(key, v);
  }
  return v;
}

/** Config-time check that every expected shape compiles. */
export function checkSmokeSchemas(samples: readonly SmokeSample[]): FieldIssue[] {
  const issues: FieldIssue[] = [];
  samples.forEach((s, i) => {
    if (s.contentType.includes('json')) {
      try {
        JSON.parse(s.body);
      } catch {
        issues.push({ path: `deployment.smoke[${i}].body`, message: `is not JSON although contentType is ${s.contentType}` });
      }
    }
    if (s.expect.jsonSchema === undefined) return;
    try {
      compileShape(s.expect.jsonSchema);
    } catch (err) {
      issues.push({ path: `deployment.smoke[${i}].expect.jsonSchema`, message: `is not a valid JSON Schema (${(err as Error).message})` });
    }
  });
  return issues;
}

export interface SmokeVerdict {
  readonly passed: boolean;
  readonly results: readonly SmokeResult[];
  readonly summary: string;
}

/** Every sample must pass; no sample: the deployment's health (InService / published) is the check. */
export function smokeVerdict(results: readonly SmokeResult[]): SmokeVerdict {
  const failedOnes = results.filter((r) => !r.passed);
  if (results.length === 0) return { passed: true, results, summary: 'no smoke samples configured: the deployment being in service is the check' };
  return failedOnes.length === 0
    ? { passed: true, results, summary: `${results.length} smoke request(s) passed` }
    : { passed: false, results, summary: `${failedOnes.length} of ${results.length} smoke request(s) failed: ${failedOnes.map((r) => r.message).join('; ')}` };
}

const truncate = (s: string, n = 300): string => (s.length > n ? `${s.slice(0, n)}…` : s);

