/**
 * The audit ledger is append-only in IAM, as far as IAM can say it (issue 11, item 10): on the
 * synthesized stack, no pipeline role may UpdateItem or DeleteItem an audit event (partition
 * `RELEASE#<id>`), while each may still make every write its adapter makes (the keys of
 * core/ledger-items.ts). What IAM cannot say — PutItem replacing an existing event — is the adapter's
 * condition expression's to prevent (test/lambdas/dynalite-ledger.test.ts: a second append changes
 * nothing).
 *
 * The policies are evaluated here the way IAM evaluates identity policies for one request: an
 * explicit Deny wins, otherwise some Allow must match the action, the resource and every condition.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ledgerKeys } from '../../core/ledger-items.js';
import { HANDLER_NAMES, HANDLER_SPECS, type HandlerName } from '../../lib/pipeline-functions.js';
import { handlerStatements, list, resourcesOf, synth, type Statement, type Synthesized } from './fixture.js';

let s: Synthesized;
let tableArn: string;
beforeAll(() => {
  s = synth();
  const [[tableId]] = resourcesOf(s.json, 'AWS::DynamoDB::Table') as [[string, unknown]];
  tableArn = JSON.stringify({ 'Fn::GetAtt': [tableId, 'Arn'] });
});

const glob = (pattern: string, value: string) => new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`).test(value);

/** One request's context: `dynamodb:LeadingKeys` (absent when undefined). */
interface Request {
  readonly action: string;
  readonly leadingKeys?: readonly string[];
}

function conditionHolds(condition: Record<string, unknown> | undefined, req: Request): boolean {
  for (const [operator, byKey] of Object.entries(condition ?? {})) {
    for (const [key, raw] of Object.entries(byKey as Record<string, unknown>)) {
      if (key !== 'dynamodb:LeadingKeys') throw new Error(`condition key ${key} is not modelled by this test`);
      const patterns = list(raw as string | string[]);
      const values = req.leadingKeys;
      switch (operator) {
        case 'ForAllValues:StringLike':
          if (values !== undefined && !values.every((v) => patterns.some((p) => glob(p, v)))) return false;
          break;
        case 'ForAnyValue:StringLike':
          if (values === undefined || !values.some((v) => patterns.some((p) => glob(p, v)))) return false;
          break;
        case 'StringLike':
          if (values === undefined || !values.every((v) => patterns.some((p) => glob(p, v)))) return false;
          break;
        case 'Null':
          if ((values === undefined) !== (patterns[0] === 'true')) return false;
          break;
        default:
          throw new Error(`condition operator ${operator} is not modelled by this test`);
      }
    }
  }
  return true;
}

function matches(st: Statement, req: Request): boolean {
  const actionOk = list(st.Action).some((a) => glob(a, `dynamodb:${req.action}`));
  const resourceOk = list(st.Resource).some((r) => r === '*' || JSON.stringify(r) === tableArn);
  return actionOk && resourceOk && conditionHolds(st.Condition, req);
}

/** Whether the handler's role may make `req` on the ledger table. */
function allowed(handler: HandlerName, req: Request): boolean {
  const statements = handlerStatements(s.json, handler);
  if (statements.some((st) => st.Effect === 'Deny' && matches(st, req))) return false;
  return statements.some((st) => st.Effect === 'Allow' && matches(st, req));
}

const WRITERS = HANDLER_NAMES.filter((h) => HANDLER_SPECS[h].ledger?.includes('PutItem'));
const event = ledgerKeys.audit('builderbrain-2_1_0-1a2b3c4d');

describe('no pipeline role can change or delete an audit event', () => {
  it('the roles that write the ledger are the ones the spec table says (every ledger user appends)', () => {
    expect(WRITERS).toEqual(HANDLER_NAMES.filter((h) => HANDLER_SPECS[h].ledger !== undefined));
    expect(WRITERS.length).toBeGreaterThanOrEqual(10);
  });

  it.each(HANDLER_NAMES)('%s: no UpdateItem, no DeleteItem on an audit partition', (handler) => {
    for (const action of ['UpdateItem', 'DeleteItem']) {
      expect(allowed(handler, { action, leadingKeys: [event] }), `${handler} ${action} ${event}`).toBe(false);
      // Nor on a batch that mixes an audit partition with a mutable one.
      expect(allowed(handler, { action, leadingKeys: [ledgerKeys.release('r').pk, event] })).toBe(false);
    }
  });

  it('no role writes outside the ledger\'s partitions, nor without a partition key in the request', () => {
    for (const handler of WRITERS) {
      for (const action of ['PutItem', 'UpdateItem', 'DeleteItem']) {
        expect(allowed(handler, { action, leadingKeys: ['OTHER#x'] }), `${handler} ${action}`).toBe(false);
        expect(allowed(handler, { action }), `${handler} ${action} without LeadingKeys`).toBe(false);
      }
    }
  });
});

describe('each role can still make the writes its adapter makes', () => {
  it.each(WRITERS)('%s: appends (reads the eventId marker and the chain\'s tail, puts the event and its marker)', (handler) => {
    expect(allowed(handler, { action: 'GetItem', leadingKeys: [event] })).toBe(true);
    expect(allowed(handler, { action: 'Query', leadingKeys: [event] })).toBe(true);
    expect(allowed(handler, { action: 'PutItem', leadingKeys: [event] })).toBe(true);
  });

  it('record updates, task tokens and the lock, for the roles whose spec lists those actions', () => {
    for (const handler of WRITERS) {
      const spec = HANDLER_SPECS[handler].ledger!;
      expect(allowed(handler, { action: 'PutItem', leadingKeys: [ledgerKeys.release('r').pk] })).toBe(true);
      expect(allowed(handler, { action: 'UpdateItem', leadingKeys: [ledgerKeys.release('r').pk] })).toBe(spec.includes('UpdateItem'));
      expect(allowed(handler, { action: 'DeleteItem', leadingKeys: [ledgerKeys.token('r', 1).pk] })).toBe(spec.includes('DeleteItem'));
      expect(allowed(handler, { action: 'DeleteItem', leadingKeys: [ledgerKeys.lock('builderbrain').pk] })).toBe(spec.includes('DeleteItem'));
      expect(allowed(handler, { action: 'GetItem', leadingKeys: [event] })).toBe(spec.includes('GetItem'));
    }
    expect(allowed('release-lock', { action: 'DeleteItem', leadingKeys: [ledgerKeys.lock('builderbrain').pk] })).toBe(true);
    expect(allowed('rollback', { action: 'DeleteItem', leadingKeys: [ledgerKeys.token('r', 1).pk] })).toBe(true);
  });

  it('what IAM cannot refuse: PutItem on an audit event\'s key (it would replace the event; the adapter\'s attribute_not_exists condition is what prevents it)', () => {
    for (const handler of WRITERS) expect(allowed(handler, { action: 'PutItem', leadingKeys: [event] })).toBe(true);
  });
});
