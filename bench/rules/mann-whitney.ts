/**
 * Kayenta's Mann–Whitney confidence interval (spinnaker/kayenta,
 * kayenta-mannwhitney/src/main/scala/com/netflix/kayenta/mannwhitney/MannWhitney.scala), itself a
 * port of R's `wilcox.test(x, y, conf.int = TRUE, correct = TRUE, exact = FALSE)`: the asymptotic
 * (normal-approximation, tie- and continuity-corrected) interval for the location shift
 * experiment − control, and the matching Hodges–Lehmann-type estimate (the shift at which the
 * standardized statistic is 0).
 *
 * Kayenta finds the roots with Commons Math's bracketing Brent solver; the function is a monotone
 * step function of the shift, so bisection to a tight tolerance finds the same jump point.
 */

import normalQuantileDist from '@stdlib/stats-base-dists-normal-quantile';

const normalQuantile = (p: number): number => normalQuantileDist(p, 0, 1);

export interface MannWhitneyInterval {
  readonly lower: number;
  readonly upper: number;
  readonly estimate: number;
}

export class MannWhitneyError extends Error {}

/**
 * The standardized, continuity-corrected Wilcoxon statistic of experiment − shift vs control, minus
 * `zq` (R's `wdiff`). Decreasing in `shift`.
 */
function wilcoxonDiff(xs: readonly number[], ys: readonly number[]): (shift: number, zq: number) => number {
  const nx = xs.length;
  const ny = ys.length;
  const n = nx + ny;
  return (shift, zq) => {
    // Merge the sorted (x − shift) and y, giving tied values their average rank.
    let i = 0;
    let j = 0;
    let rank = 0;
    let rankSumX = 0;
    let ties = 0;
    while (i < nx || j < ny) {
      const vx = i < nx ? xs[i]! - shift : Number.POSITIVE_INFINITY;
      const vy = j < ny ? ys[j]! : Number.POSITIVE_INFINITY;
      const v = Math.min(vx, vy);
      let cx = 0;
      let cy = 0;
      while (i < nx && xs[i]! - shift === v) {
        cx++;
        i++;
      }
      while (j < ny && ys[j]! === v) {
        cy++;
        j++;
      }
      const t = cx + cy;
      rankSumX += cx * (rank + (t + 1) / 2);
      rank += t;
      if (t > 1) ties += t * t * t - t;
    }
    const dz = rankSumX - (nx * (nx + 1)) / 2 - (nx * ny) / 2;
    const correction = Math.sign(dz) * 0.5;
    const sigma = Math.sqrt(((nx * ny) / 12) * (n + 1 - ties / (n * (n - 1))));
    if (sigma === 0) throw new MannWhitneyError('cannot compute confidence interval when all observations are tied');
    return (dz - correction) / sigma - zq;
  };
}

/** The root of a decreasing function on [lo, hi] with f(lo) > 0 > f(hi), by bisection. */
function bisect(f: (x: number) => number, lo: number, hi: number): number {
  const tol = 1e-10 * Math.max(Math.abs(lo), Math.abs(hi), Number.MIN_VALUE);
  for (let k = 0; k < 200 && hi - lo > tol; k++) {
    const mid = lo + (hi - lo) / 2;
    const v = f(mid);
    if (v === 0) return mid;
    if (v > 0) lo = mid;
    else hi = mid;
  }
  return lo + (hi - lo) / 2;
}

/**
 * Confidence interval (level `confLevel`) and estimate of the shift experiment − control.
 * Throws {@link MannWhitneyError} when it cannot be computed, as Kayenta does.
 */
export function mannWhitneyInterval(experiment: readonly number[], control: readonly number[], confLevel: number): MannWhitneyInterval {
  if (experiment.length === 0 || control.length === 0) throw new MannWhitneyError('no data');
  const xs = [...experiment].sort((a, b) => a - b);
  const ys = [...control].sort((a, b) => a - b);
  const f = wilcoxonDiff(xs, ys);
  const muMin = xs[0]! - ys[ys.length - 1]!;
  const muMax = xs[xs.length - 1]! - ys[0]!;
  const alpha = 1 - confLevel;
  const zQuant = normalQuantile(alpha / 2);
  const findRoot = (zq: number): number => {
    if (f(muMin, zq) <= 0) return muMin;
    if (f(muMax, zq) >= 0) return muMax;
    return bisect((d) => f(d, zq), muMin, muMax);
  };
  const lower = findRoot(-zQuant);
  const upper = findRoot(zQuant);
  // The estimate: Brent without the end-point fallbacks; no sign change is a solver error.
  const fLo = f(muMin, 0);
  const fHi = f(muMax, 0);
  if (!(fLo >= 0 && fHi <= 0)) throw new MannWhitneyError('estimate not bracketed');
  const estimate = fLo === 0 ? muMin : fHi === 0 ? muMax : bisect((d) => f(d, 0), muMin, muMax);
  return { lower, upper, estimate };
}
