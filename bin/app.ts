/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy` (cdk.json runs it through bin/app.mjs: compiled,
 * or with tsx). Reads the pipeline config from the context (`builderbrain`, and the file named by
 * `builderbrainConfig`), creates one stack per environment of the chain (staging → pre-production →
 * production by default; each in its own account and region where the environment names them) and
 * runs cdk-nag's AwsSolutions checks. `-c builderbrainEnvironments=staging,production` builds only those environments' stacks.
 */
import { fileURLToPath } from 'node:url';
import { bundlingRequested, handlerEntries, prefetchBatch } from '../lib/bundler.js';

// First, before aws-cdk-lib is loaded: esbuild bundles the handlers while Node loads the CDK and
// builds the stacks (the assets then find the batch ready: lib/bundler.ts).
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const bundling = bundlingRequested() ? prefetchBatch(ROOT, handlerEntries(ROOT)) : null;
// Awaited below; a config error exits before that, and the bundler is not waited for.
bundling?.catch(() => undefined);

const { InvalidInputError } = await import('../core/errors.js');
const { deployabilityIssues, environmentPipelines, loadPipelineConfig } = await import('../lib/config.js');
const { addEnvironmentStacks, createApp, ENVIRONMENTS_CONTEXT_KEY, selectEnvironments } = await import('../lib/synth.js');

const app = createApp({ nag: true });
try {
  const config = loadPipelineConfig(app.node);
  const only = selectEnvironments(config, app.node.tryGetContext(ENVIRONMENTS_CONTEXT_KEY));
  // A stack that could not deploy a model is refused here, naming the field (the simulator does not need it).
  const missing = environmentPipelines(config)
    .filter((p) => only.includes(p.environment.name))
    .flatMap((p) => deployabilityIssues(p.config).map((i) => `environment ${p.environment.name}: ${i.path}: ${i.message}`));
  if (missing.length > 0) {
    process.stderr.write(
      `invalid pipeline config: ${missing.join('; ')}\n(see examples/pipeline/sagemaker.json; run \`npx cdk synth -c builderbrainConfig=examples/pipeline/sagemaker.json\`)\n`,
    );
    process.exit(1);
  }
  await bundling;
  addEnvironmentStacks(app, config, only);
} catch (err) {
  // A bad config is a user error: the message names every offending field; no stack trace.
  if (!(err instanceof InvalidInputError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
app.synth();
