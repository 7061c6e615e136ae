/**
 * The post-rollback analysis of a simulated release (core/post-rollback.ts), as the simulate
 * summary (`analysis`, only after a rollback) and its HTML report show it: the report the pipeline's
 * recovery step wrote to the simulated bucket, else — a rollback the recovery step never followed
 * (a promotion execution that died) — computed now from the same ledger and metrics.
 */
import { computePostRollbackReport } from '../core/app/post-rollback-analysis.js';
import { analysisKey, analysisUri, MAX_REPORT_BYTES, PostRollbackReportSchema, type PostRollbackReport } from '../core/post-rollback.js';
import type { ReleaseRecord } from '../core/release-record.js';
import type { EmbeddedRuntime } from './runtime.js';

const MINUTE_MS = 60_000;

/** What the summary says of the analysis (minutes are the simulation's, as `rollback.atMinute`). */
export interface AnalysisSummary {
  /** Where the pipeline wrote it; null when it did not (computed by the simulation instead). */
  readonly uri: string | null;
  readonly failureMode: string;
  readonly basis: string;
  readonly onset: {
    readonly atMinute: number;
    readonly signal: string;
    readonly confidence: number;
    readonly significant: boolean;
    readonly minutesBeforeRollback: number | null;
  } | null;
  /** Each signal's candidate/baseline ratio before and after the onset. */
  readonly signals: readonly { readonly signal: string; readonly ratioBefore: number | null; readonly ratioAfter: number | null }[];
  readonly candidateCauses: readonly string[];
  readonly notes: readonly string[];
}

async function storedOrComputed(runtime: EmbeddedRuntime, releaseId: string): Promise<{ report: PostRollbackReport; uri: string | null } | null> {
  try {
    const object = await runtime.artifacts.getObjectText({ bucket: runtime.bucket, key: analysisKey(releaseId), versionId: null }, MAX_REPORT_BYTES);
    return { report: PostRollbackReportSchema.parse(JSON.parse(object.text)), uri: analysisUri(runtime.bucket, releaseId) };
  } catch {
    const report = await computePostRollbackReport(releaseId, { ledger: runtime.ledger, metrics: runtime.metrics, artifacts: runtime.artifacts, clock: runtime.clock });
    return report === null ? null : { report, uri: null };
  }
}

const round = (x: number | null, digits = 3): number | null => (x === null ? null : Number(x.toFixed(digits)));

/** The summary's `analysis`, present only for a rolled-back release. */
export async function analysisSummary(runtime: EmbeddedRuntime, record: ReleaseRecord | null): Promise<{ analysis?: AnalysisSummary }> {
  if (record?.status !== 'rolled_back') return {};
  const found = await storedOrComputed(runtime, record.releaseId);
  if (found === null) return {};
  const { report, uri } = found;
  const o = report.onset;
  return {
    analysis: {
      uri,
      failureMode: report.failureMode.mode,
      basis: report.failureMode.basis,
      onset:
        o === null
          ? null
          : {
              atMinute: Math.round((Date.parse(o.at) - Date.parse(runtime.startedAt)) / MINUTE_MS),
              signal: o.signal,
              confidence: round(o.confidence, 4)!,
              significant: o.significant,
              minutesBeforeRollback: o.minutesBeforeRollback,
            },
      signals: report.signals.map((s) => ({ signal: s.signal, ratioBefore: round(s.before.ratio), ratioAfter: round(s.after.ratio) })),
      candidateCauses: report.candidateCauses.map((c) => `[${c.section}] ${c.entry}`),
      notes: report.notes,
    },
  };
}

/** The HTML report's "Analysis" rows. */
export function analysisRows(a: AnalysisSummary): [string, string][] {
  const fmt = (x: number | null) => (x === null ? 'n/a' : `${x.toFixed(2)}×`);
  return [
    ['failure mode', `${a.failureMode} (from ${a.basis})`],
    ['estimated onset', a.onset === null ? 'not estimated' : `${a.onset.significant ? '' : 'no clear onset; likeliest '}minute ${a.onset.atMinute} on ${a.onset.signal}, confidence ${(a.onset.confidence * 100).toFixed(1)}%${a.onset.minutesBeforeRollback === null ? '' : `, ${a.onset.minutesBeforeRollback} min before the rollback`}`],
    ...a.signals.map((s): [string, string] => [`${s.signal}`, `candidate/baseline ${fmt(s.ratioBefore)} before the onset → ${fmt(s.ratioAfter)} after`]),
    ['candidate causes', a.candidateCauses.length === 0 ? 'none' : a.candidateCauses.join(' · ')],
    ['report', a.uri ?? 'not written by the pipeline: computed by the simulation'],
    ...(a.notes.length === 0 ? [] : ([['notes', a.notes.join('; ')]] as [string, string][])),
  ];
}
