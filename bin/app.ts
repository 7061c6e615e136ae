/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy` (cdk.json runs it with tsx). Reads the pipeline
 * config from the context (`builderbrain`, and the file named by `builderbrainConfig`), creates the
 * stack and runs cdk-nag's AwsSolutions checks.
 */
import { InvalidInputError } from '../core/errors.js';
import { loadPipelineConfig, type PipelineConfig } from '../lib/config.js';
import { addReleaseStack, createApp } from '../lib/synth.js';

const app = createApp({ nag: true });
let config: PipelineConfig;
try {
  config = loadPipelineConfig(app.node);
} catch (err) {
  // A bad config is a user error: the message names every offending field; no stack trace.
  if (!(err instanceof InvalidInputError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
addReleaseStack(app, config);
app.synth();
