/**
 * The code of a pipeline function: its bundle (lib/bundler.ts) as a CDK asset.
 */
import { cpSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { bundleBatch } from './bundler.js';

/** The Lambda `handler` of a function whose code is {@link handlerCode}: `index.mjs`, export `handler`. */
export const HANDLER = 'index.handler';

/**
 * The code of one handler of `batch` (name → entry file: the batch is bundled at once, the first
 * time any of its handlers is staged): `index.mjs` and its chunks ({@link HANDLER}).
 * An asset whose hash is these files'; not built at all when the stack's bundling is skipped
 * (`aws:cdk:bundling-stacks`, as in the tests).
 *
 * @example handlerCode(root, 'rollback', { rollback: join(root, 'lambdas/rollback/index.ts'), ... })
 */
export function handlerCode(projectRoot: string, name: string, batch: Readonly<Record<string, string>>): lambda.Code {
  const entry = batch[name];
  if (entry === undefined) throw new Error(`handlerCode: ${name} is not in its bundling batch (${Object.keys(batch).join(', ')})`);
  return lambda.Code.fromAsset(dirname(entry), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: local bundling either succeeds or throws (Docker is not a fallback).
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22'),
      // Names the entry in CDK's asset cache key (the local bundler, a function, is not part of it).
      command: ['esbuild', relative(projectRoot, entry).split('\\').join('/')],
      local: {
        tryBundle(outputDir: string): boolean {
          cpSync(join(bundleBatch(projectRoot, batch), name), outputDir, { recursive: true });
          return true;
        },
      },
    },
  });
}
