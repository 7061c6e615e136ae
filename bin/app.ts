/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy` (cdk.json runs it with tsx). Reads the pipeline
 * config from the context (`builderbrain`, and the file named by `builderbrainConfig`), creates the
 * stack and runs cdk-nag's AwsSolutions checks.
 */
import { InvalidInputError } from '../core/errors.js';
import { deployabilityIssues, loadPipelineConfig, type PipelineConfig } from '../lib/config.js';
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
// A stack that could not deploy a model is refused here, naming the field (the simulator does not need it).
const missing = deployabilityIssues(config);
if (missing.length > 0) {
  process.stderr.write(`invalid pipeline config: ${missing.map((i) => `${i.path}: ${i.message}`).join('; ')}\n(see examples/pipeline/sagemaker.json; run \`npx cdk synth -c builderbrainConfig=examples/pipeline/sagemaker.json\`)\n`);
  process.exit(1);
}
addReleaseStack(app, config);
app.synth();
