import type { z } from 'zod';
import { InvalidInputError, type FieldIssue } from './errors.js';

/** A parse result: the value, or every offending field by path. Errors are data, not exceptions. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; issues: FieldIssue[] };

/** Renders a zod issue path as a dotted JSON path: `changelog.features[2]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/** Converts zod issues to field issues; unknown keys are expanded so each one is named by its own path. */
export function toFieldIssues(error: z.ZodError): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        issues.push({ path: formatPath([...issue.path, key]), message: 'unknown field' });
      }
    } else if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) {
      issues.push({ path: formatPath(issue.path), message: "missing (required field)" });
    } else {
      issues.push({ path: formatPath(issue.path), message: issue.message });
    }
  }
  return issues;
}

/** `safeParse` that returns field issues instead of a ZodError. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown): Parsed<z.output<S>> {
  const result = schema.safeParse(input);
  return result.success ? { ok: true, value: result.data } : { ok: false, issues: toFieldIssues(result.error) };
}

/** Parses or throws {@link InvalidInputError} naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = parseWith(schema, input);
  if (!parsed.ok) throw new InvalidInputError(what, parsed.issues);
  return parsed.value;
}

/**
 * Parses JSON text with a size limit, then the schema. JSON itself cannot carry NaN or Infinity, so
 * those arrive as text that is not JSON and are reported as such.
 */
export function parseJsonText<S extends z.ZodType>(
  schema: S,
  text: string,
  maxBytes: number,
): Parsed<z.output<S>> {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) {
    return { ok: false, issues: [{ path: '', message: `document is ${bytes} bytes, over the limit of ${maxBytes} bytes` }] };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { ok: false, issues: [{ path: '', message: `not valid JSON (${(err as Error).message})` }] };
  }
  return parseWith(schema, data);
}
