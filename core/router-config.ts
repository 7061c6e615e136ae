/** How traffic is split between baseline and candidate: a SageMaker endpoint's variants or a Lambda alias's routing. */
import * as z from 'zod';

export const RouterConfigSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('sagemaker'),
    endpointName: z.string().min(1),
    baselineVariant: z.string().min(1),
    canaryVariant: z.string().min(1),
  }),
  z.strictObject({
    kind: z.literal('lambda-alias'),
    functionName: z.string().min(1),
    /** The alias clients call; its routing config carries the canary weight. */
    liveAlias: z.string().min(1),
    /** The alias the team points at the candidate version before uploading release.json. */
    candidateAlias: z.string().min(1),
  }),
]);
export type RouterConfig = z.infer<typeof RouterConfigSchema>;
