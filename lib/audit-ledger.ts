/**
 * The audit ledger and release lock: one DynamoDB table (the item layout is core/ledger-items.ts's):
 * partition key `pk`, sort key `sk`; GSI `gsi1` (`gsi1pk`, `gsi1sk`) lists every release, the sparse
 * GSI `active` (`activepk`, `gsi1sk`) the releases not yet ended. Data outlives the stack: RETAIN,
 * point-in-time recovery, deletion protection.
 *
 * **Append-only in IAM, as far as IAM can say it.** Audit events live in partitions of their own
 * (`RELEASE#<id>`, with their eventId markers; hash-chained: core/ledger-chain.ts), apart from
 * every mutable item (`STATE#<id>`: record, task tokens; `LOCK#<model>`: the lock). {@link AuditLedger.grantActions} allows UpdateItem only on
 * `STATE#` partitions and DeleteItem only on `STATE#` and `LOCK#` ones (condition key
 * `dynamodb:LeadingKeys`), so no pipeline role can change or delete an event. An accepted hand-over
 * (`HANDOVER#<model>#<version>`, the environment chain) is written only by the role that accepts
 * hand-overs (`{ handovers: true }`). A handler's Query reads one release's timeline: the table,
 * `RELEASE#` partitions only; the indexes are the CLI's ({@link AuditLedger.grantReadWrite}). What IAM cannot say:
 * PutItem on an existing key replaces the item, and the roles need PutItem to append — an event is
 * protected from being overwritten only by the adapter's condition expression
 * (`attribute_not_exists(pk)`), i.e. by the code the roles run, not by IAM. Point-in-time recovery
 * keeps 35 days of earlier versions of the table.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { LEDGER_PREFIXES, LEDGER_TABLE, ledgerKeys } from '../core/ledger-items.js';
import type { LedgerAction } from '../core/steps.js';
import { grantKeyUse } from './kms.js';

export type { LedgerAction };

export interface AuditLedgerProps {
  /**
   * Customer-managed key encrypting the table.
   *
   * @default - a new key with rotation enabled
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * What happens to the table when it leaves the stack.
   *
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** Every DynamoDB data-plane action a role may get on the ledger (core/steps.ts LedgerAction). */
export const LEDGER_ACTIONS: readonly LedgerAction[] = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'];

/**
 * The partitions (`dynamodb:LeadingKeys` patterns) each writing action may touch. The audit
 * partition (`RELEASE#`) takes PutItem only: events are added, never updated or deleted.
 */
export const LEDGER_WRITE_PARTITIONS: Readonly<Record<'PutItem' | 'UpdateItem' | 'DeleteItem', readonly string[]>> = {
  PutItem: [`${LEDGER_PREFIXES.audit}*`, `${LEDGER_PREFIXES.state}*`, `${LEDGER_PREFIXES.lock}*`],
  UpdateItem: [`${LEDGER_PREFIXES.state}*`],
  DeleteItem: [`${LEDGER_PREFIXES.state}*`, `${LEDGER_PREFIXES.lock}*`],
};

/** The partition of accepted hand-overs: PutItem (it overwrites) by the role that accepts them, no other write. */
export const LEDGER_HANDOVER_PARTITION = `${LEDGER_PREFIXES.handover}*`;

/** The partitions a handler's Query may read: one release's audit timeline. */
export const LEDGER_QUERY_PARTITIONS: readonly string[] = [`${LEDGER_PREFIXES.audit}*`];

export interface LedgerGrantOptions {
  /**
   * PutItem also on the hand-over partition (`HANDOVER#`): the role that accepts the previous
   * environment's hand-overs.
   *
   * @default false
   */
  readonly handovers?: boolean;
  /**
   * Query any partition of the table and its indexes (the CLI lists releases); otherwise a Query
   * reads `RELEASE#` partitions of the table only.
   *
   * @default false
   */
  readonly queryIndexes?: boolean;
}

export class AuditLedger extends Construct {
  public readonly table: dynamodb.Table;
  public readonly encryptionKey: kms.IKey;

  public constructor(scope: Construct, id: string, props: AuditLedgerProps = {}) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey ?? new kms.Key(this, 'Key', { enableKeyRotation: true, description: 'BuilderBrain audit ledger' });
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: LEDGER_TABLE.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_TABLE.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.encryptionKey,
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: LEDGER_TABLE.gsi1.indexName,
      partitionKey: { name: LEDGER_TABLE.gsi1.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_TABLE.gsi1.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
    // Sparse: only records whose release has not ended carry `activepk`.
    this.table.addGlobalSecondaryIndex({
      indexName: LEDGER_TABLE.active.indexName,
      partitionKey: { name: LEDGER_TABLE.active.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_TABLE.active.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }

  /** The ARN of the `gsi1` index. */
  public get gsi1Arn(): string {
    return `${this.table.tableArn}/index/${LEDGER_TABLE.gsi1.indexName}`;
  }

  /** The ARN of the `active` index. */
  public get activeIndexArn(): string {
    return `${this.table.tableArn}/index/${LEDGER_TABLE.active.indexName}`;
  }

  /**
   * dynamodb:Query of the release index (`gsi1`) on its one partition (`RELEASES`): the newest
   * release records, no event, no token (the incidents' reminder schedule). Key use as for the table.
   */
  public grantListReleases(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [this.gsi1Arn], conditions: leadingKeys([ledgerKeys.releasesIndex]) }),
    );
    grantKeyUse(this.encryptionKey, grantee, 'table');
  }

  /** Reads and writes of any kind (items, queries of the table and its indexes). */
  public grantReadWrite(grantee: iam.IGrantable): void {
    this.grantActions(grantee, LEDGER_ACTIONS, { queryIndexes: true });
  }

  /**
   * Exactly `actions` on the table, and the key uses DynamoDB makes on the caller's behalf. Writes
   * only on the partitions of {@link LEDGER_WRITE_PARTITIONS} (and, with `handovers`, PutItem on
   * `HANDOVER#`): never an UpdateItem or DeleteItem of an audit event. A Query reads `RELEASE#`
   * partitions of the table (a release's timeline) unless `queryIndexes`.
   */
  public grantActions(grantee: iam.IGrantable, actions: readonly LedgerAction[], options: LedgerGrantOptions = {}): void {
    const unknown = actions.filter((a) => !LEDGER_ACTIONS.includes(a));
    if (actions.length === 0 || unknown.length > 0) throw new Error(`AuditLedger: grant needs actions among ${LEDGER_ACTIONS.join(', ')}`);
    const sorted = [...new Set(actions)].sort();
    const principal = grantee.grantPrincipal;
    if (sorted.includes('GetItem')) {
      principal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:GetItem'], resources: [this.table.tableArn] }));
    }
    if (sorted.includes('Query')) {
      principal.addToPrincipalPolicy(
        options.queryIndexes === true
          ? new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [this.table.tableArn, this.gsi1Arn, this.activeIndexArn] })
          : new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [this.table.tableArn], conditions: leadingKeys(LEDGER_QUERY_PARTITIONS) }),
      );
    }
    for (const write of ['PutItem', 'UpdateItem', 'DeleteItem'] as const) {
      if (!sorted.includes(write)) continue;
      const partitions = [...LEDGER_WRITE_PARTITIONS[write], ...(write === 'PutItem' && options.handovers === true ? [LEDGER_HANDOVER_PARTITION] : [])];
      principal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [`dynamodb:${write}`], resources: [this.table.tableArn], conditions: leadingKeys(partitions) }));
    }
    grantKeyUse(this.encryptionKey, grantee, 'table');
  }
}

/** Every partition key of the request matches one of `patterns`, and there is one (ForAllValues alone is true on none). */
function leadingKeys(patterns: readonly string[]): Record<string, unknown> {
  return { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...patterns] }, Null: { 'dynamodb:LeadingKeys': 'false' } };
}
