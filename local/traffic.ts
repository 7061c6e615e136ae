/**
 * Seeded per-minute traffic of a simulated serving fleet (scenario.md). One Mersenne Twister drives
 * every draw of a stream, so a seed replays a run bit for bit. The distributions come from stdlib,
 * but for the binomial of the emitted form ({@link binomialSampler}: stdlib's is biased).
 *
 * Two forms:
 * - What the fleet emits (EMF, replay.md): per variant and minute, counts and the latency and
 *   risk-energy distributions as `values`/`counts` over fixed log-spaced buckets
 *   ({@link LATENCY_BUCKETS}, {@link RISK_ENERGY_BUCKETS}). The counts of a minute are one
 *   multinomial draw over the buckets from the variant's distribution, made of sequential binomials
 *   (never a loop over requests): {@link drawLatency}, {@link drawRiskEnergy}. local/fleet.ts
 *   composes these into the fleet, local/cloudwatch.ts turns them into the analysis' datapoints.
 * - {@link createTrafficGenerator}: the per-minute summary statistics drawn directly (percentiles
 *   by exact order-statistic sampling, the mean risk energy as one Gamma draw), kept for the
 *   statistical tests and benchmarks of the analysis that read it.
 */
import betaRandom from '@stdlib/random-base-beta';
import binomialRandom from '@stdlib/random-base-binomial';
import gammaRandom from '@stdlib/random-base-gamma';
import mt19937 from '@stdlib/random-base-mt19937';
import poissonRandom from '@stdlib/random-base-poisson';
import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import type { Distribution } from './cloudwatch.js';
import { emptyVariantMinute, type VariantMinute } from '../core/analysis.js';

/** What a variant's requests look like in one minute. */
export interface VariantProfile {
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  readonly errorRate: number;
  readonly riskEnergy: number;
  readonly constraintViolationRate: number;
  readonly safetyIncidentsPerMinute?: number;
}

const Z95 = normalQuantile(0.95, 0, 1);
const Z99 = normalQuantile(0.99, 0, 1);
/** Per-request risk energy is Gamma-distributed with this shape (coefficient of variation 0.5). */
const RISK_SHAPE = 4;

/**
 * The latency quantile function whose p50, p95 and p99 are exactly the profile's: log-latency is
 * piecewise linear in the normal score (a log-normal body with the given tail).
 */
export function latencyQuantile(l: VariantProfile['latencyMs'], u: number): number {
  const z = normalQuantile(Math.min(Math.max(u, 1e-12), 1 - 1e-12), 0, 1);
  const a = Math.log(l.p50);
  const b = Math.log(l.p95);
  const c = Math.log(l.p99);
  if (z <= Z95) return Math.exp(a + ((b - a) / Z95) * z);
  return Math.exp(b + ((c - b) / (Z99 - Z95)) * (z - Z95));
}

export interface TrafficGenerator {
  /** Splits a minute's `requests` (drawn around `requestsPerMinute`) between canary and baseline. */
  split(requestsPerMinute: number, canaryWeightPct: number): { canary: number; baseline: number };
  /** One variant's metrics for a minute with `requests` requests. */
  variantMinute(profile: VariantProfile, requests: number): VariantMinute;
}

/**
 * A deterministic generator: the same seed and the same calls give the same numbers. Its binomial
 * draws are stdlib's, kept as they were so that seeded results of its users do not move; stdlib's
 * BTPE path (n·p ≥ 10) draws about 0.45 too many on average (e.g. the baseline's errors of a
 * minute, 5,400 × 0.4%), which {@link binomialSampler} does not.
 */
export function createTrafficGenerator(seed: number): TrafficGenerator {
  // stdlib's .d.ts overloads do not resolve the options-only factory form under NodeNext; the
  // runtime API is documented as `factory({ seed })` / `factory({ prng })`.
  type Unit = () => number;
  type Two = (a: number, b: number) => number;
  type One = (a: number) => number;
  const mt = (mt19937.factory as unknown as (o: { seed: number }) => { normalized: Unit })({ seed: (seed >>> 0) || 1 });
  const prng = mt.normalized;
  const binomial = (binomialRandom.factory as unknown as (o: { prng: Unit }) => Two)({ prng });
  const beta = (betaRandom.factory as unknown as (o: { prng: Unit }) => Two)({ prng });
  const gamma = (gammaRandom.factory as unknown as (o: { prng: Unit }) => Two)({ prng });
  const poisson = (poissonRandom.factory as unknown as (o: { prng: Unit }) => One)({ prng });

  /** Nearest-rank sample percentiles of n draws, via exact order-statistic sampling (no n-sized loop). */
  const percentiles = (l: VariantProfile['latencyMs'], n: number): [number, number, number] => {
    const ks = [0.5, 0.95, 0.99].map((p) => Math.max(1, Math.ceil(p * n)));
    const out: number[] = [];
    let prevK = 0;
    let prevU = 0;
    for (const k of ks) {
      if (k > prevK) {
        // U_(k) given U_(prevK): the next order statistic of the remaining n − prevK uniforms on (prevU, 1).
        prevU = prevU + (1 - prevU) * beta(k - prevK, n - k + 1);
        prevK = k;
      }
      out.push(latencyQuantile(l, prevU));
    }
    return out as [number, number, number];
  };

  return {
    split(requestsPerMinute, canaryWeightPct) {
      const total = poisson(requestsPerMinute);
      const canary = canaryWeightPct <= 0 ? 0 : canaryWeightPct >= 100 ? total : binomial(total, canaryWeightPct / 100);
      return { canary, baseline: total - canary };
    },
    variantMinute(profile, requests) {
      if (requests === 0) return emptyVariantMinute();
      const [p50, p95, p99] = percentiles(profile.latencyMs, requests);
      const shape = RISK_SHAPE * requests;
      return {
        requests,
        errors: binomial(requests, profile.errorRate),
        latencyP50: p50,
        latencyP95: p95,
        latencyP99: p99,
        // The mean of n Gamma(k, θ) draws is Gamma(n·k, θ/n): exact, without n draws.
        riskEnergy: profile.riskEnergy > 0 ? gamma(shape, shape / profile.riskEnergy) : 0,
        constraintViolations: binomial(requests, profile.constraintViolationRate),
        safetyIncidents: (profile.safetyIncidentsPerMinute ?? 0) > 0 ? poisson(profile.safetyIncidentsPerMinute!) : 0,
      };
    },
  };
}

// ── What the fleet emits: buckets, draws, multinomials ─────────────────────────────────────────

/**
 * Fixed buckets of an EMF distribution: bucket 0 is [0, edges[1]), bucket k is
 * [edges[k], edges[k+1]), the last one is open above. Every data point in a bucket is emitted as
 * the bucket's value (the geometric middle, 4 significant digits).
 */
export interface BucketLayout {
  /** Lower edge of each bucket (edges[0] = 0). */
  readonly edges: readonly number[];
  /** The value emitted for each bucket. */
  readonly values: readonly number[];
  /** The bucket a value falls in. */
  index(x: number): number;
}

const round4 = (x: number) => Number(x.toPrecision(4));

/** Log-spaced buckets from `first` to at least `last` with consecutive edges `ratio` apart. */
export function logBuckets(first: number, ratio: number, last: number): BucketLayout {
  const edges = [0];
  for (let e = first; ; e *= ratio) {
    edges.push(e);
    if (e >= last) break;
  }
  const m = edges.length - 1;
  const values = edges.map((e, k) => (k === 0 ? round4(first / 2) : k < m ? round4(Math.sqrt(e * edges[k + 1]!)) : round4(e * Math.sqrt(ratio))));
  const logRatio = Math.log(ratio);
  return {
    edges,
    values,
    index(x) {
      if (!(x >= first)) return 0;
      let k = Math.min(m, Math.floor(Math.log(x / first) / logRatio) + 1);
      // Floating point at an edge: settle on the bucket whose [lower, upper) holds x.
      while (k > 1 && x < edges[k]!) k--;
      while (k < m && x >= edges[k + 1]!) k++;
      return k;
    },
  };
}

/**
 * Latency buckets: [0, 1 ms), then 2% wide up to 2 minutes (593 buckets); the nearest-rank
 * percentile of the emitted values is within 1% of the requests' own.
 */
export const LATENCY_BUCKETS: BucketLayout = logBuckets(1, 1.02, 120_000);
/** Risk-energy buckets: [0, 0.001), then 2% wide up to 1000 (700 buckets). */
export const RISK_ENERGY_BUCKETS: BucketLayout = logBuckets(0.001, 1.02, 1000);

/** The random draws of one stream of the simulated fleet. */
export interface Draws {
  /** Uniform on [0, 1). */
  uniform(): number;
  /** Standard normal (inverse transform of one uniform). */
  normal(): number;
  poisson(mean: number): number;
  /** Binomial(n, p), exact, without a loop over the n trials ({@link binomialSampler}). */
  binomial(n: number, p: number): number;
}

const LOG_FACTORIALS: number[] = [0];
for (let k = 1; k < 256; k++) LOG_FACTORIALS.push(LOG_FACTORIALS[k - 1]! + Math.log(k));
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** ln(k!) — a table below 256, Stirling's series above (error < 1e-16 there). */
function logFactorial(k: number): number {
  if (k < 256) return LOG_FACTORIALS[k]!;
  const x = k + 1;
  const x2 = x * x;
  return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + (1 / 12 - (1 / 360 - 1 / (1260 * x2)) / x2) / x;
}

/**
 * An exact Binomial(n, p) sampler on a uniform source, in O(1 + √(np(1−p))) steps: inversion from 0
 * while n·p < 10, otherwise inversion that searches outwards from the mode (any order of the
 * outcomes gives an exact draw; starting at the mode makes the search short). Not stdlib's: its
 * BTPE path (n·p ≥ 10) draws a mean about 0.45 too high (measured: Binomial(5400, 0.0019) averages
 * 10.76 instead of 10.26), and below that it sums n Bernoulli trials — a loop over requests.
 */
export function binomialSampler(uniform: () => number): (n: number, p: number) => number {
  const fromZero = (n: number, p: number): number => {
    const s = p / (1 - p);
    const a = (n + 1) * s;
    for (;;) {
      let r = Math.exp(n * Math.log1p(-p));
      let u = uniform();
      let x = 0;
      while (u > r && x < n && r > 0) {
        u -= r;
        x += 1;
        r *= a / x - s;
      }
      if (u <= r) return x;
      // Rounding left u above the whole mass (rare): draw again rather than bias the tail.
    }
  };
  const fromMode = (n: number, p: number): number => {
    const q = 1 - p;
    const ratio = p / q;
    const mode = Math.floor((n + 1) * p);
    const atMode = Math.exp(logFactorial(n) - logFactorial(mode) - logFactorial(n - mode) + mode * Math.log(p) + (n - mode) * Math.log1p(-p));
    for (;;) {
      let u = uniform();
      if (u <= atMode) return mode;
      u -= atMode;
      let hi = mode;
      let lo = mode;
      let pHi = atMode;
      let pLo = atMode;
      while (pHi > 0 || pLo > 0) {
        if (hi < n) {
          pHi *= ((n - hi) / (hi + 1)) * ratio;
          hi += 1;
          if (u <= pHi) return hi;
          u -= pHi;
        } else pHi = 0;
        if (lo > 0) {
          pLo *= (lo / (n - lo + 1)) / ratio;
          lo -= 1;
          if (u <= pLo) return lo;
          u -= pLo;
        } else pLo = 0;
      }
    }
  };
  const binomial = (n: number, p: number): number => {
    if (n <= 0 || p <= 0) return 0;
    if (p >= 1) return n;
    if (p > 0.5) return n - binomial(n, 1 - p);
    return n * p < 10 ? fromZero(n, p) : fromMode(n, p);
  };
  return binomial;
}

/** A deterministic stream of draws: the same seed and the same calls give the same numbers. */
export function createDraws(seed: number): Draws {
  type Unit = () => number;
  const mt = (mt19937.factory as unknown as (o: { seed: number }) => { normalized: Unit })({ seed: (seed >>> 0) || 1 });
  const uniform = mt.normalized;
  const poisson = (poissonRandom.factory as unknown as (o: { prng: Unit }) => (m: number) => number)({ prng: uniform });
  return {
    uniform,
    normal: () => normalQuantile(Math.min(Math.max(uniform(), 1e-16), 1 - 1e-16), 0, 1),
    poisson: (mean) => (mean > 0 ? poisson(mean) : 0),
    binomial: binomialSampler(uniform),
  };
}

/** Mass left out at each end of a distribution when drawing over buckets (folded into the end buckets). */
const TAIL = 1e-10;

/**
 * Adds to `counts` one multinomial draw of `n` data points over `layout`'s buckets, for the
 * distribution with `survivalAt(k)` = P(X ≥ edges[k]), by sequential binomials: bucket k gets
 * Binomial(left, P(bucket k | not in buckets before k)). Buckets beyond the 1e-10 tails are not
 * visited (their mass goes to the first and last bucket visited).
 */
export function addMultinomial(draws: Draws, n: number, layout: BucketLayout, survivalAt: (k: number) => number, counts: number[]): void {
  if (n <= 0) return;
  const m = layout.edges.length - 1;
  // First bucket whose upper edge has more than TAIL below it; first whose upper edge has less than TAIL above.
  const firstWith = (pred: (k: number) => boolean): number => {
    let lo = 0;
    let hi = m;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (pred(mid)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const first = firstWith((k) => k === m || survivalAt(k + 1) < 1 - TAIL);
  const last = Math.max(first, firstWith((k) => k === m || survivalAt(k + 1) < TAIL));
  let left = n;
  let above = 1; // P(X ≥ lower edge of bucket k), the tail below `first` counted in it
  for (let k = first; k <= last && left > 0; k++) {
    if (k === last) {
      counts[k] = (counts[k] ?? 0) + left;
      break;
    }
    const next = survivalAt(k + 1);
    const p = above > 0 ? Math.min(1, Math.max(0, 1 - next / above)) : 1;
    const x = draws.binomial(left, p);
    if (x > 0) counts[k] = (counts[k] ?? 0) + x;
    left -= x;
    above = next;
  }
}

/**
 * Survival functions at a layout's edges, computed once per distribution: a fleet draws the same
 * distribution minute after minute (until noise or an event changes it).
 */
class SurvivalCache {
  private readonly tables = new Map<string, Float64Array>();

  public constructor(private readonly layout: BucketLayout) {}

  public at(key: string, sf: (x: number) => number): (k: number) => number {
    let table = this.tables.get(key);
    if (table === undefined) {
      if (this.tables.size >= 512) this.tables.clear();
      table = new Float64Array(this.layout.edges.length).fill(Number.NaN);
      this.tables.set(key, table);
    }
    const t = table;
    const edges = this.layout.edges;
    return (k) => {
      let v = t[k]!;
      if (Number.isNaN(v)) {
        v = sf(edges[k]!);
        t[k] = v;
      }
      return v;
    };
  }
}

const LATENCY_SURVIVAL = new SurvivalCache(LATENCY_BUCKETS);
const RISK_SURVIVAL = new SurvivalCache(RISK_ENERGY_BUCKETS);

/** The emitted distribution of bucket counts: non-empty buckets in increasing value. */
export function distributionOf(layout: BucketLayout, counts: readonly number[]): Distribution {
  const values: number[] = [];
  const out: number[] = [];
  counts.forEach((c, k) => {
    if (c > 0) {
      values.push(layout.values[k]!);
      out.push(c);
    }
  });
  return { values, counts: out };
}

/**
 * The normal score z with Q(z) = log-latency `lx` for the latency quantile function
 * ({@link latencyQuantile}); ±∞ where a flat piece (p50 = p95, or p95 = p99) holds all the mass.
 */
function latencyScore(l: VariantProfile['latencyMs'], lx: number): number {
  const a = Math.log(l.p50);
  const b = Math.log(l.p95);
  const c = Math.log(l.p99);
  if (lx < b) return b > a ? ((lx - a) * Z95) / (b - a) : Number.NEGATIVE_INFINITY;
  return c > b ? Z95 + ((lx - b) * (Z99 - Z95)) / (c - b) : Number.POSITIVE_INFINITY;
}

/** P(latency ≥ x) for a profile's latency scaled by `factor`. */
export function latencySurvival(l: VariantProfile['latencyMs'], factor: number, x: number): number {
  if (x <= 0) return 1;
  return normalCdf(-latencyScore(l, Math.log(x / factor)), 0, 1);
}

/** P(V ≥ x) for per-request risk energy ~ Gamma(4, mean/4) (closed form for an integer shape). */
export function riskEnergySurvival(mean: number, x: number): number {
  if (x <= 0) return 1;
  if (mean <= 0) return 0;
  const y = (RISK_SHAPE * x) / mean;
  return Math.exp(-y) * (1 + y + (y * y) / 2 + (y * y * y) / 6);
}

/** Requests whose latency follows `latencyMs` scaled by `factor` (a slower instance, a heavier user). */
export interface LatencyComponent {
  readonly requests: number;
  readonly latencyMs: VariantProfile['latencyMs'];
  readonly factor: number;
}

/** The latency distribution a variant emits for a minute: its components' requests over {@link LATENCY_BUCKETS}. */
export function drawLatency(draws: Draws, components: readonly LatencyComponent[]): Distribution {
  const counts: number[] = [];
  for (const c of components) {
    const key = `${c.latencyMs.p50}/${c.latencyMs.p95}/${c.latencyMs.p99}/${c.factor}`;
    addMultinomial(draws, c.requests, LATENCY_BUCKETS, LATENCY_SURVIVAL.at(key, (x) => latencySurvival(c.latencyMs, c.factor, x)), counts);
  }
  return distributionOf(LATENCY_BUCKETS, counts);
}

/** Requests whose risk energy has mean `mean`. */
export interface RiskComponent {
  readonly requests: number;
  readonly mean: number;
}

/**
 * The risk-energy distribution a variant emits for a minute over {@link RISK_ENERGY_BUCKETS}
 * (per request Gamma with coefficient of variation 0.5, as the summary generator draws); a zero
 * mean emits the value 0.
 */
export function drawRiskEnergy(draws: Draws, components: readonly RiskComponent[]): Distribution {
  const counts: number[] = [];
  let zeros = 0;
  for (const c of components) {
    if (c.requests <= 0) continue;
    if (c.mean <= 0) zeros += c.requests;
    else addMultinomial(draws, c.requests, RISK_ENERGY_BUCKETS, RISK_SURVIVAL.at(String(c.mean), (x) => riskEnergySurvival(c.mean, x)), counts);
  }
  const d = distributionOf(RISK_ENERGY_BUCKETS, counts);
  return zeros === 0 ? d : { values: [0, ...d.values], counts: [zeros, ...d.counts] };
}
