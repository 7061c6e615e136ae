/**
 * Statistical tests used by the canary analysis. Distribution functions come from stdlib; what is
 * here is the test logic, each with the reason it was chosen.
 */
import tcdf from '@stdlib/stats-base-dists-t-cdf';

/** log C(n, k), for the permutation bound of rank tests. */
export function logChoose(n: number, k: number): number {
  const kk = Math.min(k, n - k);
  let s = 0;
  for (let i = 1; i <= kk; i++) s += Math.log((n - kk + i) / i);
  return s;
}

/** Mid-ranks (1-based, ties averaged) of `values`. */
export function midRanks(values: readonly number[]): number[] {
  const idx = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && idx[j + 1]![0] === idx[i]![0]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[idx[k]![1]] = r;
    i = j + 1;
  }
  return ranks;
}

export interface RankTestResult {
  /** P(canary > baseline) + ½ P(tie): 0.5 when neither tends to be larger. */
  readonly effect: number;
  /** One-sided p-value for "canary tends to be larger than baseline". */
  readonly pValue: number;
  readonly statistic: number;
  readonly df: number;
}

/**
 * One-sided Brunner–Munzel test that `canary` tends to exceed `baseline`.
 *
 * Why not Mann–Whitney (Kayenta's choice): per-minute values of a 1% canary are far noisier than the
 * baseline's (60 vs 5,940 requests a minute), and Mann–Whitney assumes equal spreads under the null;
 * with such unequal variances it rejects a healthy canary too often. Brunner–Munzel tests the same
 * rank effect P(X > Y) = ½ without that assumption. The p-value is never below the exact permutation
 * bound 1 / C(n₁+n₂, n₁), which is the most any rank test can claim from so few points (and covers
 * complete separation, where the variance estimate is 0).
 */
export function brunnerMunzelGreater(
  canary: readonly number[],
  baseline: readonly number[],
  options: { readonly permutationVarianceFloor?: boolean } = {},
): RankTestResult {
  const n1 = baseline.length;
  const n2 = canary.length;
  if (n1 < 2 || n2 < 2) return { effect: 0.5, pValue: 1, statistic: 0, df: 0 };
  const all = midRanks([...baseline, ...canary]);
  const r1 = midRanks(baseline);
  const r2 = midRanks(canary);
  let m1 = 0;
  let m2 = 0;
  for (let i = 0; i < n1; i++) m1 += all[i]!;
  for (let i = 0; i < n2; i++) m2 += all[n1 + i]!;
  m1 /= n1;
  m2 /= n2;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n1; i++) s1 += (all[i]! - r1[i]! - m1 + (n1 + 1) / 2) ** 2;
  for (let i = 0; i < n2; i++) s2 += (all[n1 + i]! - r2[i]! - m2 + (n2 + 1) / 2) ** 2;
  s1 /= n1 - 1;
  s2 /= n2 - 1;
  const effect = (m2 - (n2 + 1) / 2) / n1;
  const permutationBound = Math.exp(-logChoose(n1 + n2, n2));
  const raw = n1 * s1 + n2 * s2;
  // With `permutationVarianceFloor` (what the analysis uses): the rank-placement variance estimate
  // is unstable on short windows — measured on healthy data, p-values at the analysis's levels
  // (~1e-5) came out 10-60× too small for n = 10-20. Flooring it at the permutation (Mann–Whitney)
  // variance n₁n₂(N+1)/12, below which the null variance of the statistic does not go for
  // continuous data, calibrates small windows and changes nothing when the data really are
  // heteroscedastic (the estimate is larger then). Without it: the textbook test (scipy, lawstat).
  const floor = options.permutationVarianceFloor === true ? (n1 * n2 * (n1 + n2 + 1)) / 12 : 0;
  const v = Math.max(raw, floor);
  if (v === 0) {
    // Complete separation (or all tied): only the direction is known.
    if (m2 > m1) return { effect, pValue: permutationBound, statistic: Number.POSITIVE_INFINITY, df: n1 + n2 - 2 };
    return { effect, pValue: m2 < m1 ? 1 : 0.5, statistic: m2 < m1 ? Number.NEGATIVE_INFINITY : 0, df: n1 + n2 - 2 };
  }
  const statistic = (n1 * n2 * (m2 - m1)) / ((n1 + n2) * Math.sqrt(v));
  const dfDen = (n1 * s1) ** 2 / (n1 - 1) + (n2 * s2) ** 2 / (n2 - 1);
  const df = dfDen === 0 || raw < v ? n1 + n2 - 2 : raw ** 2 / dfDen;
  const p = 1 - tcdf(statistic, Math.max(df, 1));
  return { effect, pValue: Math.min(1, Math.max(p, permutationBound)), statistic, df };
}

/**
 * Log of a mixture e-value: log( mean_k exp(llr_k) ), computed without overflow.
 * A mixture of test martingales is a test martingale, so the mixture keeps Ville's guarantee.
 */
export function logMeanExp(logs: readonly number[]): number {
  let max = Number.NEGATIVE_INFINITY;
  for (const l of logs) if (l > max) max = l;
  if (max === Number.NEGATIVE_INFINITY) return max;
  let s = 0;
  for (const l of logs) s += Math.exp(l - max);
  return max + Math.log(s / logs.length);
}

/** Median of a non-empty list. */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
