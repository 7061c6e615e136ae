/**
 * Writes the published JSON Schema of the release manifest, generated from the zod schema
 * (`npm run schema`). `test/core/schema-sync.test.ts` fails when the committed file is stale.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { manifestJsonSchema } from '../core/manifest.js';

const SCHEMA_PATH = fileURLToPath(new URL('../schema/release-manifest.schema.json', import.meta.url));

/** The file's exact text: pretty-printed, with a trailing newline. */
function schemaText(): string {
  return `${JSON.stringify(manifestJsonSchema(), null, 2)}\n`;
}

await mkdir(fileURLToPath(new URL('../schema/', import.meta.url)), { recursive: true });
await writeFile(SCHEMA_PATH, schemaText());
process.stdout.write(`wrote ${SCHEMA_PATH}\n`);
