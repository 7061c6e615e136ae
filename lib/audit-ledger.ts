/**
 * The audit ledger and release lock: one DynamoDB table (single-table design; the item layout is the
 * adapter's, lambdas/adapters/): partition key `pk`, sort key `sk`, one GSI `gsi1` (`gsi1pk`,
 * `gsi1sk`) for listings. Data outlives the stack: RETAIN, point-in-time recovery, deletion protection.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { grantKeyUse } from './kms.js';

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

/** The table's key schema (a contract with the DynamoDB adapter). */
export const LEDGER_KEYS = {
  partitionKey: 'pk',
  sortKey: 'sk',
  gsi1: { indexName: 'gsi1', partitionKey: 'gsi1pk', sortKey: 'gsi1sk' },
} as const;

/** DynamoDB data-plane actions a role may get on the ledger (without the `dynamodb:` prefix). */
export type LedgerAction = 'GetItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'Query';
export const LEDGER_ACTIONS: readonly LedgerAction[] = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query'];

export class AuditLedger extends Construct {
  public readonly table: dynamodb.Table;
  public readonly encryptionKey: kms.IKey;

  public constructor(scope: Construct, id: string, props: AuditLedgerProps = {}) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey ?? new kms.Key(this, 'Key', { enableKeyRotation: true, description: 'BuilderBrain audit ledger' });
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: LEDGER_KEYS.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_KEYS.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.encryptionKey,
      deletionProtection: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: LEDGER_KEYS.gsi1.indexName,
      partitionKey: { name: LEDGER_KEYS.gsi1.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_KEYS.gsi1.sortKey, type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });
  }

  /** The ARN of the `gsi1` index (not `index/*`: the table has exactly one). */
  public get gsi1Arn(): string {
    return `${this.table.tableArn}/index/${LEDGER_KEYS.gsi1.indexName}`;
  }

  /** Reads and writes of any kind (items, queries of the table and `gsi1`). */
  public grantReadWrite(grantee: iam.IGrantable): void {
    this.grantActions(grantee, LEDGER_ACTIONS);
  }

  /**
   * Exactly `actions` on the table (Query also on `gsi1`), and the key uses DynamoDB makes on the
   * caller's behalf.
   */
  public grantActions(grantee: iam.IGrantable, actions: readonly LedgerAction[]): void {
    const unknown = actions.filter((a) => !LEDGER_ACTIONS.includes(a));
    if (actions.length === 0 || unknown.length > 0) throw new Error(`AuditLedger: grant needs actions among ${LEDGER_ACTIONS.join(', ')}`);
    const sorted = [...new Set(actions)].sort();
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: sorted.map((a) => `dynamodb:${a}`), resources: [this.table.tableArn] }),
    );
    if (sorted.includes('Query')) {
      grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['dynamodb:Query'], resources: [this.gsi1Arn] }));
    }
    grantKeyUse(this.encryptionKey, grantee, 'table');
  }
}
