/**
 * `status` and `history` of a release that came through the chain: one timeline across the
 * environments (the stages before this one from the hand-over), `--env` narrowing it.
 */
import { ledgerBackend } from '../support/backend.js';
import { describe, expect, it } from 'vitest';
import { historyCommand } from '../../cli/commands/history.js';
import { statusCommand } from '../../cli/commands/status.js';
import { terminal } from '../support/terminal.js';
import type { OperatorBackend } from '../../cli/ops.js';
import type { TrailEntry } from '../../core/handover.js';
import { simulateChain } from '../../local/chain.js';
import { BUILTIN_SCENARIOS } from '../../local/scenario.js';

async function productionBackend() {
  const run = await simulateChain({ scenario: BUILTIN_SCENARIOS.find((s) => s.name === 'chain')! });
  const prod = run.runtimes.find((r) => r.environment === 'production')!.runtime;
  const releaseId = run.summary.chain[2]!.releaseId!;
  const backend: OperatorBackend = ledgerBackend('stack BuilderBrainRelease (production)', prod.ledger);
  return { backend, releaseId, run };
}


const args = { json: false, local: false, stack: 'BuilderBrainRelease', stateDir: '.x' };

describe('one timeline across the environments', () => {
  it('status shows where the release is, what passed in each environment and who approved; --env narrows it', async () => {
    const { backend, releaseId, run } = await productionBackend();
    const { io, out } = terminal();
    expect(await statusCommand(io, backend, releaseId, args)).toBe(0);
    expect(out.stdout).toContain('Across the environments');
    const rows = out.stdout.split('\n').filter((l) => /^(staging|pre-production|production) /.test(l));
    expect(rows.map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ['staging', 'promoted'],
      ['pre-production', 'promoted'],
      ['production', 'promoted'],
    ]);
    expect(rows[0]).toContain('2/2 passed');
    expect(rows[1]).toMatch(/4\/4 passed\s+passed/);
    expect(rows[2]).toContain('local-operator (phase 1)');

    const json = terminal();
    await statusCommand(json.io, backend, releaseId, { ...args, json: true, env: 'pre-production' });
    const doc = JSON.parse(json.out.stdout) as { chain: TrailEntry[] };
    expect(doc.chain.map((t) => t.environment)).toEqual(['pre-production']);
    expect(doc.chain[0]!.releaseId).toBe(run.summary.chain[1]!.releaseId);
    expect(doc.chain[0]!.drill).toMatchObject({ passed: true });
  });

  it('history puts the stages before this environment ahead of its own events; --env staging shows only staging', async () => {
    const { backend, releaseId } = await productionBackend();
    const { io, out } = terminal();
    expect(await historyCommand(io, backend, releaseId, args)).toBe(0);
    expect(out.stdout).toContain('environment production');
    expect(out.stdout).toMatch(/Before this environment \(from the hand-over of pre-production, account 222222222222\)/);
    expect(out.stdout.indexOf('staging ')).toBeLessThan(out.stdout.indexOf('received'));
    const narrowed = terminal();
    await historyCommand(narrowed.io, backend, releaseId, { ...args, json: true, env: 'staging' });
    const doc = JSON.parse(narrowed.out.stdout) as { upstream: TrailEntry[]; events: unknown[] };
    expect(doc.upstream.map((t) => t.environment)).toEqual(['staging']);
    expect(doc.events).toEqual([]);
  });
});
