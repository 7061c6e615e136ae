/**
 * The audit ledger and release lock: one DynamoDB table (the item layout is core/ledger-items.ts's):
 * partition key `pk`, sort key `sk`; GSI `gsi1` (`gsi1pk`, `gsi1sk`) lists every release, the sparse
 * GSI `active` (`activepk`, `gsi1sk`) the releases not yet ended. Data outlives the stack: RETAIN,
 * point-in-time recovery, deletion protection.
 *
 * **Append-only in IAM, as far as IAM can say it.** Audit events live in partitions of their own
 * (`RELEASE#<id>`), apart from every mutable item (`STATE#<id>`: record, event counter, task
 * tokens; `LOCK#<model>`: the lock). {@link AuditLedger.grantActions} allows UpdateItem only on
 * `STATE#` partitions and DeleteItem only on `STATE#` and `LOCK#` ones (condition key
 * `dynamodb:LeadingKeys`), so no pipeline role can change or delete an event. What IAM cannot say:
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
import { LEDGER_PREFIXES, LEDGER_TABLE } from '../core/ledger-items.js';
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

  /** Reads and writes of any kind (items, queries of the table and its indexes). */
  public grantReadWrite(grantee: iam.IGrantable): void {
    this.grantActions(grantee, LEDGER_ACTIONS);
  }

  /**
   * Exactly `actions` on the table (Query also on its indexes), and the key uses DynamoDB makes on
   * the caller's behalf. Writes only on the partitions of {@link LEDGER_WRITE_PARTITIONS}: never an
   * UpdateItem or DeleteItem of an audit event.
   */
  public grantActions(grantee: iam.IGrantable, actions: readonly LedgerAction[]): void {
    const unknown = actions.filter((a) => !LEDGER_ACTIONS.includes(a));
    if (actions.length === 0 || unknown.length > 0) throw new Error(`AuditLedger: grant needs actions among ${LEDGER_ACTIONS.join(', ')}`);
    const sorted = [...new Set(actions)].sort();
    const reads = sorted.filter((a) => a === 'GetItem' || a === 'Query');
    if (reads.length > 0) {
      grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: reads.map((a) => `dynamodb:${a}`), resources: [this.table.tableArn] }));
    }
    if (sorted.includes('Query')) {
      grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [this.gsi1Arn, this.activeIndexArn] }));
    }
    for (const write of ['PutItem', 'UpdateItem', 'DeleteItem'] as const) {
      if (!sorted.includes(write)) continue;
      grantee.grantPrincipal.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: [`dynamodb:${write}`],
          resources: [this.table.tableArn],
          conditions: {
            // Every partition key of the request matches, and there is one (ForAllValues alone is true on none).
            'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...LEDGER_WRITE_PARTITIONS[write]] },
            Null: { 'dynamodb:LeadingKeys': 'false' },
          },
        }),
      );
    }
    grantKeyUse(this.encryptionKey, grantee, 'table');
  }
}
