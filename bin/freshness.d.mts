/** Where the build writes its record, relative to the project root. */
export declare const BUILD_INFO: string;
/** The bundle's entries, relative to the project root: the command line, and the CDK app (cdk.json). */
export declare const DIST_ENTRY: string;
export declare const DIST_APP: string;
/** One SHA-256 over `files` (relative to `root`, in order) and their contents. */
export declare function hashInputs(root: string, files: readonly string[]): string;
/** Why dist/ cannot be run for the sources under `root`, or null when it is fresh. */
export declare function distStaleness(root: string): string | null;
/** Runs `distEntry` when dist/ is fresh, else `sourceEntry` (a .ts file) through tsx (BUILDERBRAIN_SOURCES=1: always the sources). */
export declare function runBuiltOrSources(root: string, distEntry: string, sourceEntry: string): Promise<void>;
