/**
 * The post-rollback analysis (core/post-rollback.ts) run after a rollback: read what the pipeline
 * holds (the ledger's timeline and record, the window's per-minute datapoints, the manifest's
 * changelog), build the report, and write it to the artifact bucket at its deterministic key
 * (`analysis/<releaseId>.json`, which the rollback incident already links).
 *
 * Never in the way of a rollback: it runs in the recovery step (core/app/recovery.ts), after
 * traffic is back on the baseline, the candidate removed and the recovery window over — so the
 * last minutes before the rollback have reached the metrics too. Whatever fails here (metrics,
 * manifest, the write) is caught: a read that fails is a note in the report, a report that cannot
 * be built or written is audited (`post_rollback_analysis_failed`), and the step goes on.
 */
import type { AuditEventOf } from '../audit.js';
import { pairWithReference, referenceWindows } from '../bake.js';
import { parseManifestText, MAX_MANIFEST_BYTES, type ReleaseManifest } from '../manifest.js';
import { analysisKey, analysisUri, analysisWindow, buildPostRollbackReport, fitReport, MAX_REPORT_BYTES, type AnalysisMetrics, type PostRollbackReport } from '../post-rollback.js';
import type { ArtifactStore, AuditLedger, Clock, MetricsSource, ReleaseRecord, StoredAuditEvent } from '../ports.js';

export interface PostRollbackSources {
  readonly ledger: Pick<AuditLedger, 'getRelease' | 'timeline'>;
  /** Null: no metrics (the CLI without CloudWatch): the report says the onset was not estimated. */
  readonly metrics: MetricsSource | null;
  /** Where the manifest is read from (its changelog); null: no changelog. */
  readonly artifacts: Pick<ArtifactStore, 'getObjectText'> | null;
  readonly clock: Clock;
}

export interface PostRollbackAnalysisDeps extends PostRollbackSources {
  readonly ledger: Pick<AuditLedger, 'getRelease' | 'timeline' | 'append'>;
  readonly artifacts: ArtifactStore;
  /** The artifact bucket (the report goes to `analysis/<releaseId>.json` there). */
  readonly bucket: string;
}

export type PostRollbackOutcome =
  | { readonly written: true; readonly uri: string; readonly bytes: number; readonly report: PostRollbackReport }
  | { readonly written: false; readonly reason: string };

const errorText = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

/** The window's datapoints: the canary's against its baseline, a bake's against the reference it was judged on. */
async function windowMetrics(record: ReleaseRecord, timeline: readonly StoredAuditEvent[], metrics: MetricsSource): Promise<AnalysisMetrics | null> {
  const w = analysisWindow(record, timeline);
  if (w === null) return null;
  const points = await metrics.window({ model: record.model, from: w.from, to: w.to });
  if (w.kind === 'canary' || w.reference === null) return { from: w.from.toISOString(), comparedWith: 'baseline', points };
  const ref = referenceWindows(w.from, w.to, w.reference)[0]!;
  const reference = await metrics.window({ model: record.model, from: ref.from, to: ref.to });
  return { from: w.from.toISOString(), comparedWith: w.reference === 'day' ? 'reference_day' : 'reference_week', points: pairWithReference(points, reference) };
}

/** The manifest's changelog, from the release's own manifest version. */
async function changelogOf(record: ReleaseRecord, artifacts: Pick<ArtifactStore, 'getObjectText'>): Promise<ReleaseManifest['changelog'] | string> {
  const object = await artifacts.getObjectText(record.source, MAX_MANIFEST_BYTES);
  if (object.tooLarge) return `the manifest is over ${MAX_MANIFEST_BYTES} bytes`;
  const parsed = parseManifestText(object.text);
  return parsed.ok ? parsed.value.changelog : 'the manifest does not parse';
}

/**
 * The report of a rolled-back release, computed now from what the sources hold; null when the
 * release is not in the ledger. A metrics or manifest read that fails is a note in the report.
 *
 * @example const report = await computePostRollbackReport('builderbrain-2_1_0-1a2b3c4d', { ledger, metrics, artifacts, clock })
 */
export async function computePostRollbackReport(releaseId: string, deps: PostRollbackSources): Promise<PostRollbackReport | null> {
  const [record, timeline] = await Promise.all([deps.ledger.getRelease(releaseId), deps.ledger.timeline(releaseId)]);
  if (record === null) return null;
  const notes: string[] = [];
  let metrics: AnalysisMetrics | null = null;
  if (deps.metrics !== null) {
    try {
      metrics = await windowMetrics(record, timeline, deps.metrics);
      if (metrics === null) notes.push('no rollback after traffic moved: no window to analyse');
    } catch (err) {
      notes.push(`the metrics could not be read (${errorText(err)})`);
    }
  }
  let changelog: ReleaseManifest['changelog'] | null = null;
  if (deps.artifacts !== null) {
    try {
      const c = await changelogOf(record, deps.artifacts);
      if (typeof c === 'string') notes.push(c);
      else changelog = c;
    } catch (err) {
      notes.push(`the manifest could not be read (${errorText(err)})`);
    }
  }
  return fitReport(buildPostRollbackReport({ record, timeline, metrics, changelog, generatedAt: deps.clock.now().toISOString(), notes }));
}

/**
 * Builds and writes the report of a rolled-back release; never throws. Not rolled back: nothing
 * to do. A failure is audited (`post_rollback_analysis_failed`) and answered, never raised: the
 * rollback and its recovery check do not depend on it.
 */
export async function analyzeAfterRollback(input: { readonly releaseId: string }, deps: PostRollbackAnalysisDeps): Promise<PostRollbackOutcome> {
  const key = analysisKey(input.releaseId);
  let stage: 'build' | 'write' = 'build';
  try {
    const record = await deps.ledger.getRelease(input.releaseId);
    if (record?.status !== 'rolled_back') return { written: false, reason: `the release is ${record?.status ?? 'not in the ledger'}: nothing to analyse` };
    const report = await computePostRollbackReport(input.releaseId, deps);
    if (report === null) return { written: false, reason: 'the release is not in the ledger' };
    const text = `${JSON.stringify(report, null, 2)}\n`;
    stage = 'write';
    const { bytes } = await deps.artifacts.putReport({ bucket: deps.bucket, key }, text, MAX_REPORT_BYTES);
    return { written: true, uri: analysisUri(deps.bucket, input.releaseId), bytes, report };
  } catch (err) {
    const error = errorText(err);
    await auditFailure(input.releaseId, key, stage, error, deps);
    return { written: false, reason: `the analysis failed (${stage}): ${error}` };
  }
}

async function auditFailure(releaseId: string, key: string, stage: 'build' | 'write', error: string, deps: PostRollbackAnalysisDeps): Promise<void> {
  const at = deps.clock.now().toISOString();
  const event: AuditEventOf<'post_rollback_analysis_failed'> = {
    releaseId,
    eventId: `post-rollback-analysis-failed-${at}`,
    at,
    type: 'post_rollback_analysis_failed',
    actor: 'step:VerifyRecovery',
    detail: { stage, key, error: error.slice(0, 2000) },
  };
  try {
    await deps.ledger.append(event);
  } catch {
    // The ledger failing too: the step's own logs say the rest; the analysis never fails the step.
  }
}
