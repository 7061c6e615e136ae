/**
 * Seeded per-minute traffic of a simulated serving fleet (scenario.md): request counts, binomial
 * error and constraint-violation counts, latency percentiles of the minute's requests, mean risk
 * energy, Poisson safety incidents. One Mersenne Twister drives every draw, so a seed replays a run
 * bit for bit. The distributions come from stdlib; this module only composes them.
 */
import betaRandom from '@stdlib/random-base-beta';
import binomialRandom from '@stdlib/random-base-binomial';
import gammaRandom from '@stdlib/random-base-gamma';
import mt19937 from '@stdlib/random-base-mt19937';
import poissonRandom from '@stdlib/random-base-poisson';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
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

/** A deterministic generator: the same seed and the same calls give the same numbers. */
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
