/**
 * EventBridgeHandoverBus (lambdas/adapters/eventbridge-bus.ts): the hand-over entry put on the next
 * environment's bus as it is; a refused entry (FailedEntryCount > 0, PutEvents still answering 200)
 * or a failed call thrown with the error's name kept, so Step Functions can retry or catch it.
 */
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { HANDOVER_DETAIL_TYPE, HANDOVER_SOURCE } from '../../core/environments.js';
import type { HandoverEntry } from '../../core/ports.js';
import { AwsCallError } from '../../lambdas/adapters/aws-errors.js';
import { EventBridgeHandoverBus } from '../../lambdas/adapters/eventbridge-bus.js';
import { ONE_ATTEMPT, denied } from './aws-helpers.js';

const events = mockClient(EventBridgeClient);
const bus = new EventBridgeHandoverBus(new EventBridgeClient(ONE_ATTEMPT));
const BUS = 'arn:aws:events:eu-west-1:222222222222:event-bus/bb-pre-production-handover';
const entry: HandoverEntry = { Source: HANDOVER_SOURCE, DetailType: HANDOVER_DETAIL_TYPE, Detail: JSON.stringify({ model: 'builderbrain', version: '2.1.0', note: 'été' }), EventBusName: BUS };

beforeEach(() => events.reset());

describe('EventBridgeHandoverBus', () => {
  it('puts the one entry, as given, on the bus named by ARN', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    await bus.send(entry);
    const calls = events.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({ Entries: [{ Source: HANDOVER_SOURCE, DetailType: HANDOVER_DETAIL_TYPE, Detail: entry.Detail, EventBusName: BUS }] });
  });

  it('a refused entry throws naming its ErrorCode, ErrorMessage and the bus; throttling is retryable', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded for bus' }] });
    const err = (await bus.send(entry).catch((e: unknown) => e)) as AwsCallError;
    expect(err).toBeInstanceOf(AwsCallError);
    expect(err.name).toBe('ThrottlingException');
    expect(err.retryable).toBe(true);
    expect(err.message).toBe(`EventBridge.PutEvents on ${BUS} failed: ThrottlingException: Rate exceeded for bus (retryable: the SDK retries were exhausted)`);
  });

  it("an entry refused for the bus's policy is not retryable; an internal failure is", async () => {
    events
      .on(PutEventsCommand)
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' }] })
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'Internal error' }] });
    await expect(bus.send(entry)).rejects.toMatchObject({ name: 'NotAuthorizedForSourceException', retryable: false, message: expect.stringContaining('Not authorized for the source.') });
    await expect(bus.send(entry)).rejects.toMatchObject({ name: 'InternalFailure', retryable: true });
  });

  it('a failed count without an entry error still throws', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [] });
    await expect(bus.send(entry)).rejects.toMatchObject({ name: 'PutEventsFailed', message: expect.stringContaining(BUS) });
  });

  it('an answer without the event id is not taken as delivered', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{}] });
    await expect(bus.send(entry)).rejects.toMatchObject({ name: 'PutEventsFailed' });
  });

  it('a failed call (AccessDenied on the bus) throws with the SDK name kept', async () => {
    events.on(PutEventsCommand).rejects(denied());
    await expect(bus.send(entry)).rejects.toMatchObject({ name: 'AccessDeniedException', retryable: false, message: expect.stringContaining(`EventBridge.PutEvents on ${BUS} failed: AccessDeniedException`) });
  });
});
