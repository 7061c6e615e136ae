import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { manifestJsonSchema, parseManifestText } from '../../core/manifest.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCHEMA_FILE = join(ROOT, 'schema', 'release-manifest.schema.json');
const EXAMPLES = join(ROOT, 'examples');

describe('schema/release-manifest.schema.json', () => {
  const text = readFileSync(SCHEMA_FILE, 'utf8');

  it('equals the schema generated from the zod schema (run `npm run schema` when this fails)', () => {
    expect(JSON.parse(text)).toEqual(manifestJsonSchema());
  });

  it('is pretty-printed with a trailing newline, exactly as `npm run schema` writes it', () => {
    expect(text).toBe(`${JSON.stringify(manifestJsonSchema(), null, 2)}\n`);
  });

  it('is a closed draft 2020-12 object schema requiring the manifest fields', () => {
    const schema = JSON.parse(text) as { $schema: string; required: string[]; additionalProperties: unknown };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.additionalProperties).toBe(false);
    expect([...schema.required].sort()).toEqual(
      ['artifact', 'changelog', 'migrationGuide', 'model', 'owner', 'previousVersion', 'releaseType', 'shadowEvaluation', 'version'].sort(),
    );
  });
});

describe('examples/', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));
  const valid = files.filter((f) => !f.startsWith('invalid-'));
  const invalid = files.filter((f) => f.startsWith('invalid-'));

  it('has valid and invalid examples', () => {
    expect(valid.length).toBeGreaterThanOrEqual(12);
    expect(invalid.length).toBeGreaterThanOrEqual(1);
  });

  it.each(valid)('%s is a valid manifest', (file) => {
    const parsed = parseManifestText(readFileSync(join(EXAMPLES, file), 'utf8'));
    expect(parsed.ok ? [] : parsed.issues).toEqual([]);
  });

  it.each(invalid)('%s is not a valid manifest', (file) => {
    const parsed = parseManifestText(readFileSync(join(EXAMPLES, file), 'utf8'));
    expect(parsed.ok).toBe(false);
  });
});
