/**
 * The DynamoDB ledger's table in dynalite (in memory, on 127.0.0.1 and a port the system picks),
 * for test/lambdas/dynalite-*.test.ts: the table as the CDK construct defines it (keys, attribute
 * definitions, both indexes), and clients whose requests are held to DynamoDB's item limit.
 *
 * Dynalite checks item sizes in UTF-16 units; DynamoDB counts UTF-8 bytes. So the raw client here
 * also refuses, as DynamoDB would, any PutItem whose item is over 400 KB in UTF-8 bytes (counted
 * from the request actually sent, test/lambdas/dynamo-size.ts), and tells `onWrite` the operation
 * and partition key of every write it sends.
 */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, type AttributeValue, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { AuditLedger as AuditLedgerConstruct } from '../../lib/audit-ledger.js';
import { DYNAMODB_ITEM_LIMIT, dynamoItemBytes } from './dynamo-size.js';

/** The table as the CDK construct defines it (keys, attribute definitions, both indexes). */
export function tableDefinition(name: string): CreateTableCommandInput {
  const stack = new Stack(new App(), 'LedgerOnly');
  new AuditLedgerConstruct(stack, 'Ledger');
  const [table] = Object.values(Template.fromStack(stack).findResources('AWS::DynamoDB::Table')) as { Properties: Record<string, any> }[];
  const p = table!.Properties;
  return {
    TableName: name,
    KeySchema: p['KeySchema'],
    AttributeDefinitions: p['AttributeDefinitions'],
    GlobalSecondaryIndexes: (p['GlobalSecondaryIndexes'] as Record<string, unknown>[]).map((g) => ({ IndexName: g['IndexName'], KeySchema: g['KeySchema'], Projection: g['Projection'] })) as never,
    BillingMode: 'PAY_PER_REQUEST',
  };
}

/** The writes `onWrite` is told of. */
export type WriteOp = 'PutItem' | 'UpdateItem' | 'DeleteItem';
const WRITE_OPS: readonly string[] = ['PutItem', 'UpdateItem', 'DeleteItem'] satisfies WriteOp[];

export interface DynaliteLedgerTables {
  /** The low-level client (AttributeValues), with the UTF-8 item limit. */
  readonly raw: DynamoDBClient;
  /** The document client over `raw`, as the adapters are given it. */
  readonly doc: DynamoDBDocumentClient;
  /** Creates the table `name` from the definition and waits until it is ACTIVE. */
  createTable(name: string): Promise<void>;
  /** Destroys the clients and stops the server. */
  close(): Promise<void>;
}

/** Starts dynalite and the clients; `onWrite` is told of every write the raw client sends (operation, partition key). */
export async function startDynalite(onWrite: (op: WriteOp, pk: string) => void = () => {}): Promise<DynaliteLedgerTables> {
  const server: Server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const raw = new DynamoDBClient({ endpoint: `http://127.0.0.1:${port}`, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  // DynamoDB's limit in UTF-8 bytes, on the request as sent; and the keys written.
  raw.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body?: string | Uint8Array };
      const op = (request.headers['x-amz-target'] ?? '').replace('DynamoDB_20120810.', '');
      if (WRITE_OPS.includes(op) && request.body !== undefined) {
        const text = typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body);
        const body = JSON.parse(text) as { Item?: Record<string, AttributeValue>; Key?: Record<string, AttributeValue> };
        onWrite(op as WriteOp, (body.Item ?? body.Key)?.['pk']?.S ?? '');
        if (op === 'PutItem' && body.Item !== undefined && dynamoItemBytes(body.Item, true) > DYNAMODB_ITEM_LIMIT) {
          throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), { name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
        }
      }
      return next(args);
    },
    { step: 'finalizeRequest', name: 'dynamodbByteLimit' },
  );
  const doc = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const template = tableDefinition('x');
  return {
    raw,
    doc,
    async createTable(name) {
      await raw.send(new CreateTableCommand({ ...template, TableName: name }));
      for (let i = 0; i < 100; i++) {
        const t = await raw.send(new DescribeTableCommand({ TableName: name }));
        if (t.Table?.TableStatus === 'ACTIVE') return;
        await new Promise((r) => setTimeout(r, 5));
      }
      throw new Error(`table ${name} did not become ACTIVE`);
    },
    async close() {
      raw.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
