/**
 * The scenario's optional `fleet` section (local/scenario.ts FleetSchema): defaults when absent,
 * every bad field named by its path before anything runs.
 */
import { describe, expect, it } from 'vitest';
import { BUILTIN_SCENARIOS, FleetSchema, parseScenarioText } from '../../local/scenario.js';

const HEALTHY = BUILTIN_SCENARIOS.find((s) => s.name === 'healthy')!;
const withFleet = (fleet: unknown) => {
  const { fleet: _ignored, ...rest } = HEALTHY;
  return JSON.stringify({ ...rest, fleet });
};

describe('the fleet section', () => {
  it('is optional: a scenario without one gets a fleet of identical instances and no stress', () => {
    const { fleet: _f, ...rest } = HEALTHY;
    const parsed = parseScenarioText(JSON.stringify(rest));
    expect(parsed.ok).toBe(true);
    expect(parsed.ok && parsed.value.fleet).toEqual({
      instances: { count: 20, zones: 3, errorRate: { sd: 0, autocorrelation: 0.98 } },
      warmUp: { latencyIncrease: 0, minutes: 10 },
      incidents: [],
      stickyUsers: { share: 0, pinnedTo: 'canary', multiply: { latency: 1, riskEnergy: 1 } },
      noise: { latency: { sd: 0, autocorrelation: 0.9 }, errorRate: { sd: 0, autocorrelation: 0.9 } },
      diurnal: { amplitude: 0, periodMinutes: 1440, peakAtMinute: 0 },
      missingMinuteProbability: 0,
    });
  });

  it('accepts every knob', () => {
    const parsed = parseScenarioText(
      withFleet({
        instances: { count: 12, zones: 2, errorRate: { sd: 0.4, autocorrelation: 0.95 } },
        warmUp: { latencyIncrease: 0.5, minutes: 8 },
        incidents: [
          { atMinute: 30, minutes: 5, zone: 'b', multiply: { errorRate: 4 } },
          { whenWeight: 50, afterMinutes: 0, minutes: 10, multiply: { latency: 1.2, constraintViolationRate: 3 } },
        ],
        stickyUsers: { share: 0.01, pinnedTo: 'baseline', multiply: { latency: 1.4, riskEnergy: 1.2 } },
        noise: { latency: { sd: 0.05 }, errorRate: { sd: 0.1, autocorrelation: 0.5 } },
        diurnal: { amplitude: 0.3, periodMinutes: 720, peakAtMinute: 60 },
        missingMinuteProbability: 0.01,
      }),
    );
    expect(parsed.ok).toBe(true);
  });

  it('names every bad field', () => {
    const parsed = parseScenarioText(
      withFleet({
        instances: { count: 0, zones: 9, errorRate: { sd: -1, autocorrelation: 1.5 } },
        warmUp: { latencyIncrease: -0.1, minutes: 0 },
        incidents: [{ atMinute: -1, minutes: 0, zone: 'A', multiply: { errorRate: -2, latency: 0 } }],
        stickyUsers: { share: 0.9, pinnedTo: 'both', multiply: { latency: 0 } },
        noise: { latency: { sd: 5, autocorrelation: 1 }, jitter: 1 },
        diurnal: { amplitude: 1.5, periodMinutes: 1 },
        missingMinuteProbability: 1,
        spare: true,
      }),
    );
    expect(parsed.ok).toBe(false);
    const paths = parsed.ok ? [] : parsed.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'fleet.instances.count',
        'fleet.instances.zones',
        'fleet.instances.errorRate.sd',
        'fleet.instances.errorRate.autocorrelation',
        'fleet.warmUp.latencyIncrease',
        'fleet.warmUp.minutes',
        'fleet.incidents[0].atMinute',
        'fleet.incidents[0].minutes',
        'fleet.incidents[0].zone',
        'fleet.incidents[0].multiply.errorRate',
        'fleet.incidents[0].multiply.latency',
        'fleet.stickyUsers.share',
        'fleet.stickyUsers.pinnedTo',
        'fleet.stickyUsers.multiply.latency',
        'fleet.noise.latency.sd',
        'fleet.noise.latency.autocorrelation',
        'fleet.noise.jitter',
        'fleet.diurnal.amplitude',
        'fleet.diurnal.periodMinutes',
        'fleet.missingMinuteProbability',
        'fleet.spare',
      ]),
    );
  });

  it.each([
    [{ minutes: 5 }, 'fleet.incidents[0].atMinute', /atMinute .* or whenWeight with afterMinutes/],
    [{ atMinute: 1, whenWeight: 10, afterMinutes: 0, minutes: 5 }, 'fleet.incidents[0].atMinute', /not both/],
    [{ whenWeight: 10, minutes: 5 }, 'fleet.incidents[0].afterMinutes', /missing/],
    [{ afterMinutes: 3, minutes: 5 }, 'fleet.incidents[0].whenWeight', /missing/],
    [{ atMinute: 1, minutes: 5, zone: 'd' }, 'fleet.incidents[0].zone', /zone 'd' is not in the fleet: instances.zones is 3 \(a, b, c\)/],
  ])('an incident %j: %s', (incident, path, message) => {
    const parsed = parseScenarioText(withFleet({ incidents: [incident] }));
    expect(parsed.ok).toBe(false);
    const issue = parsed.ok ? undefined : parsed.issues.find((i) => i.path === path);
    expect(issue?.message).toMatch(message);
  });

  it('the schema has a default for every knob (a fleet of identical instances)', () => {
    expect(FleetSchema.parse({}).instances.errorRate.sd).toBe(0);
  });

  it('the built-in stress scenarios are healthy candidates (no candidate events)', () => {
    const stressed = BUILTIN_SCENARIOS.filter((s) => s.name.startsWith('healthy-'));
    expect(stressed.map((s) => s.name)).toEqual([
      'healthy-heterogeneous-instances',
      'healthy-warm-up',
      'healthy-fleet-wide-violation-surge',
      'healthy-zone-incident',
      'healthy-sticky-users',
      'healthy-realistic-mix',
    ]);
    for (const s of stressed) {
      expect(s.candidate.events).toEqual([]);
      expect(s.candidate.errorRate).toBe(HEALTHY.candidate.errorRate);
    }
  });
});
