/**
 * HandoverBus on EventBridge: the hand-over event (core/handover.ts handoverEntry, sized before the
 * call) is put on the next environment's hand-over bus, by its ARN (another account's bus: its
 * resource policy admits this account). One PutEvents with the one entry.
 *
 * PutEvents answers 200 even when it refused the entry: the refusal is in `FailedEntryCount` and
 * the entry's `ErrorCode`/`ErrorMessage`. Either way — the call failing or the entry refused — an
 * {@link AwsCallError} is thrown with the error's name kept (`ThrottlingException`,
 * `InternalFailure`, `AccessDeniedException`, …: what a Step Functions Retry/Catch matches), the
 * bus named, and `retryable` set for throttling and internal failures. Nothing is logged here (the
 * detail carries the manifest and the trail).
 */
import { PutEventsCommand, type EventBridgeClient, type PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import type { HandoverBus, HandoverEntry } from '../../core/ports.js';
import { AwsCallError, call } from './aws-errors.js';

const OPERATION = 'EventBridge.PutEvents';

/** Entry error codes that are EventBridge's own failure (a 5xx's equivalent): retrying can help. */
const SERVER_ERROR_CODES: ReadonlySet<string> = new Set(['InternalFailure', 'InternalException', 'ServiceUnavailable']);

/** A refused entry as the SDK error it would have been, for {@link AwsCallError}. */
function entryError(entry: PutEventsResultEntry | undefined): Error {
  const code = entry?.ErrorCode ?? 'PutEventsFailed';
  const message = entry?.ErrorMessage ?? 'EventBridge refused the entry without saying why (FailedEntryCount > 0)';
  return Object.assign(new Error(message), { name: code, $fault: SERVER_ERROR_CODES.has(code) ? 'server' : 'client' });
}

export class EventBridgeHandoverBus implements HandoverBus {
  public constructor(private readonly client: EventBridgeClient) {}

  public async send(entry: HandoverEntry): Promise<void> {
    const out = await call(OPERATION, entry.EventBusName, () =>
      this.client.send(
        new PutEventsCommand({
          Entries: [{ Source: entry.Source, DetailType: entry.DetailType, Detail: entry.Detail, EventBusName: entry.EventBusName }],
        }),
      ),
    );
    if ((out.FailedEntryCount ?? 0) > 0) {
      const failed = out.Entries?.find((e) => e.ErrorCode !== undefined) ?? out.Entries?.[0];
      throw new AwsCallError(OPERATION, entry.EventBusName, entryError(failed));
    }
    // One entry sent, one answered: an answer without its event id is not a delivery we can vouch for.
    if (out.Entries?.[0]?.EventId === undefined) {
      throw new AwsCallError(OPERATION, entry.EventBusName, entryError({ ErrorCode: 'PutEventsFailed', ErrorMessage: 'EventBridge answered without an event id for the entry' }));
    }
  }
}
