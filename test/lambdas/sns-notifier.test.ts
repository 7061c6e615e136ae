import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../core/app/errors.js';
import type { IncidentNotification } from '../../core/app/incidents.js';
import type { Notification } from '../../core/ports.js';
import { MAX_SUBJECT_LENGTH, SnsNotifier, snsSubject } from '../../lambdas/adapters/sns-notifier.js';
import { ONE_ATTEMPT, awsError, throttled } from './aws-helpers.js';

const sns = mockClient(SNSClient);
const INCIDENTS = 'arn:aws:sns:eu-west-1:123456789012:bb-incidents';
const APPROVALS = 'arn:aws:sns:eu-west-1:123456789012:bb-approvals';
const notifier = new SnsNotifier(new SNSClient(ONE_ATTEMPT), { incidentTopicArn: INCIDENTS, approvalTopicArn: APPROVALS });

const incident: Notification = {
  channel: 'incident',
  severity: 'P0',
  reason: 'rollback_failed',
  model: 'builderbrain',
  version: '2.1.0',
  releaseId: 'builderbrain-2_1_0-0eafa7ee',
  title: '[P0] BuilderBrain 2.1.0: ROLLBACK FAILED in phase 2 at 10% canary traffic — traffic may still reach the candidate',
  text: 'The rollback could not restore the baseline.\n✗ error_rate: 3.00× vs 1.50×',
};

beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
});

describe('SnsNotifier', () => {
  it('publishes incidents to the incident topic with String attributes for subscription filters', async () => {
    await notifier.publish(incident);
    const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.TopicArn).toBe(INCIDENTS);
    expect(input.MessageAttributes).toEqual({
      severity: { DataType: 'String', StringValue: 'P0' },
      reason: { DataType: 'String', StringValue: 'rollback_failed' },
      model: { DataType: 'String', StringValue: 'builderbrain' },
      version: { DataType: 'String', StringValue: '2.1.0' },
      releaseId: { DataType: 'String', StringValue: 'builderbrain-2_1_0-0eafa7ee' },
      channel: { DataType: 'String', StringValue: 'incident' },
    });
    expect(input.Subject!.length).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
    expect(input.Subject).toMatch(/^\[P0\] BuilderBrain 2\.1\.0: ROLLBACK FAILED .*\.\.\.$/);
    expect(input.Subject).toMatch(/^[\x20-\x7e]+$/);
    expect(input.Message).toContain('✗ error_rate: 3.00× vs 1.50×');
  });

  it("an incident's messages share one thread: the same subject and the incident_id attribute on the page, the updates and the acknowledgement", async () => {
    const id = 'INC-builderbrain-2_1_0-0eafa7ee-1';
    const thread: IncidentNotification[] = [
      { ...incident, incident: { id, event: 'opened' } },
      { ...incident, reason: null, text: 'Status update 1: still open', incident: { id, event: 'update' } },
      { ...incident, reason: null, text: `${id} acknowledged by alice`, incident: { id, event: 'acknowledged' } },
    ];
    for (const n of thread) await notifier.publish(n);
    const inputs = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(new Set(inputs.map((i) => i.Subject)).size).toBe(1);
    const subject = inputs[0]!.Subject!;
    expect(subject.startsWith(`[P0] BuilderBrain incident ${id}: BuilderBrain 2.1.0: ROLLBACK`)).toBe(true);
    expect(Buffer.byteLength(subject, 'utf8')).toBeLessThanOrEqual(MAX_SUBJECT_LENGTH);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(inputs.map((i) => i.MessageAttributes!['incident_id']!.StringValue)).toEqual([id, id, id]);
    expect(inputs.map((i) => i.MessageAttributes!['incident_event']!.StringValue)).toEqual(['opened', 'update', 'acknowledged']);
    expect(inputs[1]!.Message).toContain('Status update 1');
  });

  it("an incident message's body is cut in bytes below SNS's 256 KB, the thread's subject kept", async () => {
    const id = 'INC-builderbrain-2_1_0-0eafa7ee-2';
    await notifier.publish({ ...incident, text: '✗'.repeat(200_000), incident: { id, event: 'update' } } as IncidentNotification);
    const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(Buffer.byteLength(input.Message!, 'utf8')).toBeLessThanOrEqual(256 * 1024);
    expect(input.Subject).toContain(id);
  });

  it('a notification whose incident is not of the expected shape is an ordinary one (parsed, not cast)', async () => {
    await notifier.publish({ ...incident, incident: { id: 42 } } as unknown as Notification);
    const input = sns.commandCalls(PublishCommand)[0]!.args[0].input;
    expect(input.MessageAttributes).not.toHaveProperty('incident_id');
    expect(input.Subject).toMatch(/^\[P0\] BuilderBrain 2\.1\.0/);
  });

  it('approval and info notifications go to the approvals topic, without a severity', async () => {
    await notifier.publish({ ...incident, channel: 'approval', severity: null, reason: 'approval_requested', title: 'approve?' });
    await notifier.publish({ ...incident, channel: 'info', severity: null, reason: 'promoted', title: 'promoted' });
    for (const call of sns.commandCalls(PublishCommand)) {
      expect(call.args[0].input.TopicArn).toBe(APPROVALS);
      expect(call.args[0].input.MessageAttributes).not.toHaveProperty('severity');
    }
  });

  it('subjects are one line of printable ASCII', () => {
    expect(snsSubject('a\nb — c ✗ d')).toBe('a b - c x d');
    expect(snsSubject('')).toBe('BuilderBrain release notification');
  });

  it('refuses a channel without a topic, and an incident without a severity', async () => {
    const incidentsOnly = new SnsNotifier(new SNSClient(ONE_ATTEMPT), { incidentTopicArn: INCIDENTS, approvalTopicArn: null });
    await expect(incidentsOnly.publish({ ...incident, channel: 'approval' })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(notifier.publish({ ...incident, severity: null })).rejects.toBeInstanceOf(ConfigurationError);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it('throttling and permanent failures are thrown with the topic named', async () => {
    sns.on(PublishCommand).rejectsOnce(throttled()).rejectsOnce(awsError('AuthorizationErrorException', 403, 'not authorized'));
    await expect(notifier.publish(incident)).rejects.toMatchObject({ name: 'ThrottlingException', retryable: true });
    await expect(notifier.publish(incident)).rejects.toMatchObject({ name: 'AuthorizationErrorException', retryable: false, message: expect.stringContaining(`SNS.Publish on ${INCIDENTS}`) });
  });
});
