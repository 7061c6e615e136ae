/**
 * The two raw EventBridge events the pipeline consumes, as zod schemas (only the fields we read;
 * AWS may add fields, so objects are not strict). Parsed at the edge, in the handlers.
 */
import * as z from 'zod';

/** S3 "Object Created" via EventBridge (the artifact bucket has EventBridge notifications on). */
export const S3ObjectCreatedEventSchema = z.object({
  'detail-type': z.literal('Object Created'),
  source: z.literal('aws.s3'),
  time: z.string().optional(),
  detail: z.object({
    bucket: z.object({ name: z.string().min(3) }),
    object: z.object({
      key: z.string().min(1),
      size: z.number().int().min(0).optional(),
      etag: z.string().optional(),
      'version-id': z.string().min(1).optional(),
    }),
  }),
});
export type S3ObjectCreatedEvent = z.infer<typeof S3ObjectCreatedEventSchema>;

/** CloudWatch "Alarm State Change" via EventBridge. */
export const AlarmStateChangeEventSchema = z.object({
  'detail-type': z.literal('CloudWatch Alarm State Change'),
  source: z.literal('aws.cloudwatch'),
  time: z.string().optional(),
  detail: z.object({
    alarmName: z.string().min(1),
    state: z.object({
      value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
      reason: z.string().default(''),
      timestamp: z.string().optional(),
    }),
  }),
});
export type AlarmStateChangeEvent = z.infer<typeof AlarmStateChangeEventSchema>;

/**
 * Step Functions "Execution Status Change" via EventBridge, for the endings the pipeline reacts to
 * (an execution stopped by hand, timed out, or failed past every Catch). The promotion execution's
 * name is its release id (core/app/intake.ts).
 */
export const ExecutionStatusChangeEventSchema = z.object({
  'detail-type': z.literal('Step Functions Execution Status Change'),
  source: z.literal('aws.states'),
  time: z.string().optional(),
  detail: z.object({
    executionArn: z.string().min(1),
    stateMachineArn: z.string().min(1),
    name: z.string().min(1),
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']),
    error: z.string().nullish(),
    cause: z.string().nullish(),
  }),
});
export type ExecutionStatusChangeEvent = z.infer<typeof ExecutionStatusChangeEventSchema>;

/** True when `event` claims to be an EventBridge event of `detailType` (parse it with its schema next). */
export function isEventBridgeEvent(event: unknown, detailType: string): boolean {
  return typeof event === 'object' && event !== null && (event as Record<string, unknown>)['detail-type'] === detailType;
}
