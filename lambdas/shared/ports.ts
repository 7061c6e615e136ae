/**
 * The two observability ports of the handlers. Minimal on purpose: Powertools' Logger satisfies
 * {@link Log}; tests and the embedded runtime pass their own. Nothing here imports AWS.
 */

/** Structured logging. Never pass a task token or a whole event that carries one. */
export interface Log {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

/** Business metrics (namespace BuilderBrain/Pipeline when deployed). */
export interface Telemetry {
  count(name: string, value?: number): void;
}

export const silentLog: Log = { info: () => {}, warn: () => {}, error: () => {} };
export const noTelemetry: Telemetry = { count: () => {} };

/** Observability deps every handler accepts (optional: silent when absent). */
export interface Observability {
  readonly log?: Log;
  readonly telemetry?: Telemetry;
}
