/** Where the build writes its record, relative to the project root. */
export declare const BUILD_INFO: string;
/** The bundle's entry, relative to the project root. */
export declare const DIST_ENTRY: string;
/** One SHA-256 over `files` (relative to `root`, in order) and their contents. */
export declare function hashInputs(root: string, files: readonly string[]): string;
/** Why dist/ cannot be run for the sources under `root`, or null when it is fresh. */
export declare function distStaleness(root: string): string | null;
