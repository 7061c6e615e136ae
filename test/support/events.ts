/**
 * Audit events with a made-up or partial detail, as a ledger may hold them (written by an older
 * version, or filler whose content a storage test does not look at). The ledgers store what they
 * are given and read it back as stored (core/audit.ts StoredAuditEvent); the typed append would
 * refuse such a detail, so the fixture says what it is with this one cast.
 */
import type { AuditEvent, AuditEventType } from '../../core/audit.js';

export interface LooseEvent {
  readonly releaseId: string;
  readonly eventId: string;
  readonly at: string;
  readonly type: AuditEventType;
  readonly actor: string;
  readonly weight?: number;
  readonly phase?: number;
  readonly detail: Record<string, unknown>;
}

export const looseEvent = (e: LooseEvent): AuditEvent => e as unknown as AuditEvent;
