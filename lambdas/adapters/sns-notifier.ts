/**
 * Notifier on SNS with two topics: incidents (message attribute `severity` P0–P3, so on-call can
 * filter P0/P1 with a subscription filter policy) and approvals. Informational notifications (a
 * promotion) go to the approvals topic: the people who approve phases want to know the outcome,
 * and an incident subscription filtering on `severity` would drop a message without one.
 *
 * Message attributes (String): `severity` (when set), `model`, `version`, `reason` (when set),
 * `releaseId`, `channel`. Subject: one line of printable ASCII (SNS refuses line breaks and
 * control characters; email clients mangle the rest), cut below SNS's 100-character limit; the
 * message body is the title and the full text.
 *
 * An incident's messages (its opening page, status updates, acknowledgement, resolution, closure:
 * core/app/incidents.ts) share one thread: the subject is the incident's
 * (`[P1] BuilderBrain incident INC-<release id>-<n>: <title>`, the same on every message of it) and
 * the attributes `incident_id` and `incident_event` (opened, update, acknowledged, resolved, closed).
 */
import { PublishCommand, type MessageAttributeValue, type SNSClient } from '@aws-sdk/client-sns';
import { ConfigurationError } from '../../core/app/errors.js';
import { incidentOfNotification } from '../../core/app/incidents.js';
import { incidentSubject } from '../../core/incidents.js';
import type { Notification, Notifier } from '../../core/ports.js';
import { call } from './aws-errors.js';

export interface SnsTopics {
  readonly incidentTopicArn: string | null;
  readonly approvalTopicArn: string | null;
}

/** SNS: "must be less than 100 characters long". */
export const MAX_SUBJECT_LENGTH = 99;
/** SNS messages are at most 256 KiB; keep a margin for the attributes. */
const MAX_MESSAGE_BYTES = 250 * 1024;

const ASCII_FOR: Record<string, string> = { '—': '-', '–': '-', '✗': 'x', '×': 'x', '…': '...', '→': '->', '≤': '<=', '≥': '>=', 'Δ': 'd', 'α': 'alpha' };

/** An SNS-safe subject: printable ASCII, one line, at most {@link MAX_SUBJECT_LENGTH} chars. */
export function snsSubject(title: string): string {
  const ascii = [...title.replace(/\s+/g, ' ').trim()]
    .map((c) => ASCII_FOR[c] ?? (c >= ' ' && c <= '~' ? c : ''))
    .join('')
    .replace(/ {2,}/g, ' ')
    .trim();
  const subject = ascii.length > MAX_SUBJECT_LENGTH ? `${ascii.slice(0, MAX_SUBJECT_LENGTH - 3).trimEnd()}...` : ascii;
  return subject === '' ? 'BuilderBrain release notification' : subject;
}

function truncateBytes(text: string, max: number): string {
  if (Buffer.byteLength(text, 'utf8') <= max) return text;
  const marker = '\n… (truncated; see builderbrain history)';
  let cut = Buffer.from(text, 'utf8').subarray(0, max - Buffer.byteLength(marker, 'utf8')).toString('utf8');
  cut = cut.replace(/\uFFFD$/, '');
  return cut + marker;
}

export class SnsNotifier implements Notifier {
  public constructor(
    private readonly client: SNSClient,
    private readonly topics: SnsTopics,
  ) {}

  private topicFor(channel: Notification['channel']): string {
    const arn = channel === 'incident' ? this.topics.incidentTopicArn : this.topics.approvalTopicArn;
    if (arn === null) throw new ConfigurationError(`no SNS topic configured for ${channel} notifications`);
    return arn;
  }

  public async publish(n: Notification): Promise<void> {
    if (n.channel === 'incident' && n.severity === null) {
      throw new ConfigurationError('an incident notification needs a severity (the subscription filters use it)');
    }
    const topicArn = this.topicFor(n.channel);
    const attr = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
    const attributes: Record<string, MessageAttributeValue> = {
      channel: attr(n.channel),
      model: attr(n.model),
      version: attr(n.version),
      releaseId: attr(n.releaseId),
    };
    if (n.severity !== null) attributes.severity = attr(n.severity);
    if (n.reason !== null) attributes.reason = attr(n.reason);
    const incident = incidentOfNotification(n);
    if (incident !== null) {
      attributes.incident_id = attr(incident.id);
      attributes.incident_event = attr(incident.event);
    }
    // One subject per incident, whatever the message: what threads them in mail and chat.
    const subject = incident === null || n.severity === null ? n.title : incidentSubject({ severity: n.severity, id: incident.id, title: n.title });
    await call('SNS.Publish', topicArn, () =>
      this.client.send(
        new PublishCommand({
          TopicArn: topicArn,
          Subject: snsSubject(subject),
          Message: truncateBytes(`${n.title}\n\n${n.text}`, MAX_MESSAGE_BYTES),
          MessageAttributes: attributes,
        }),
      ),
    );
  }
}
