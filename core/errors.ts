/**
 * Typed errors of the release core. Each carries what a person needs to act on it; the edges
 * (CLI exit codes, Step Functions Catch, handler results) map them, the core never prints.
 */

/** One offending field of an input, named by its JSON path (e.g. `shadowEvaluation.riskEnergy.candidate`). */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/** Base class: every error the core raises on purpose. */
export class ReleaseError extends Error {
  public constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** An input (manifest, scenario, config, event) that does not satisfy its contract. */
export class InvalidInputError extends ReleaseError {
  public constructor(
    /** What kind of input: "release manifest", "scenario", "pipeline config", ... */
    public readonly what: string,
    public readonly issues: readonly FieldIssue[],
  ) {
    super(`invalid ${what}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
  }
}
