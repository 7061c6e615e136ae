/**
 * What every Lambda entry (lambdas/<name>/index.ts) does at module scope, once per container:
 * parse its environment (only the variables it needs), configure the SDK clients' retries, create
 * the Powertools logger and metrics, and wrap the handler.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import type { z } from 'zod';
import { toFieldIssues } from '../../core/validation.js';
import type { Log, Telemetry } from './ports.js';

export const SERVICE_NAME = 'builderbrain-release';
export const METRICS_NAMESPACE = 'BuilderBrain/Pipeline';

/**
 * SDK client configuration: the standard retry mode (exponential backoff with jitter on throttling,
 * 5xx and transient network errors), 3 attempts in total. What is still failing after that
 * propagates as an exception, for the state machine's Retry/Catch.
 */
export const SDK_CLIENT_CONFIG = { maxAttempts: 3, retryMode: 'standard' } as const;

/** The clock of the entries (the core's Clock port). */
export const systemClock = { now: () => new Date() };

/** Parses the environment with `schema`; a missing or bad variable fails the cold start with its name. */
export function parseEnv<S extends z.ZodType>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  const result = schema.safeParse(env);
  if (!result.success) {
    const issues = toFieldIssues(result.error).map((i) => `${i.path}: ${i.message}`);
    throw new Error(`invalid Lambda environment: ${issues.join('; ')}`);
  }
  return result.data;
}

export interface Powertools {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly log: Log;
  readonly telemetry: Telemetry;
}

export function powertools(step: string): Powertools {
  const logger = new Logger({ serviceName: SERVICE_NAME, persistentKeys: { step } });
  const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  const log: Log = {
    info: (message, ...extra) => logger.info(message, ...extra),
    warn: (message, ...extra) => logger.warn(message, ...extra),
    error: (message, ...extra) => logger.error(message, ...extra),
  };
  const telemetry: Telemetry = { count: (name, value = 1) => metrics.addMetric(name, MetricUnit.Count, value) };
  return { logger, metrics, log, telemetry };
}

/**
 * The Lambda entry around a handler: Lambda context on every log line, failures logged (the error,
 * never the event) and rethrown, metrics flushed.
 */
export function lambdaEntry<R>(pt: Powertools, handler: (event: unknown) => Promise<R>): (event: unknown, context: Context) => Promise<R> {
  return async (event, context) => {
    pt.logger.addContext(context);
    try {
      return await handler(event);
    } catch (err) {
      if (err instanceof Error) pt.logger.error('step failed', err);
      else pt.logger.error('step failed', { error: String(err) });
      throw err;
    } finally {
      if (pt.metrics.hasStoredMetrics()) pt.metrics.publishStoredMetrics();
    }
  };
}
