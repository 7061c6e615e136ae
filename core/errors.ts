/**
 * Typed errors of the release core. Each carries what a person needs to act on it; the edges
 * (CLI exit codes, Step Functions Catch, handler results) map them, the core never prints.
 */

/** One offending field of an input, named by its JSON path (e.g. `shadowEvaluation.riskEnergy.candidate`). */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * Base class: every error the core raises on purpose. Each class names itself with a literal
 * (`override name = '…'`), never from its constructor's name: the Lambda handlers are bundled
 * minified, without kept names (lib/bundler.ts), and the name is the `errorType` Step
 * Functions and the CLI match (test/lib/keep-names.test.ts checks the bundled names).
 */
export class ReleaseError extends Error {
  public override name = 'ReleaseError';
}

/** An input (manifest, scenario, config, event) that does not satisfy its contract. */
export class InvalidInputError extends ReleaseError {
  public override name = 'InvalidInputError';
  public constructor(
    /** What kind of input: "release manifest", "scenario", "pipeline config", ... */
    public readonly what: string,
    public readonly issues: readonly FieldIssue[],
  ) {
    super(`invalid ${what}: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`);
  }
}
