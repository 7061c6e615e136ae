/** `builderbrain retro`: a retrospective draft (RELEASE.md §10.3) prefilled from the ledger. */
import { ledgerBackend } from '../support/backend.js';
import { describe, expect, it } from 'vitest';
import { retroCommand } from '../../cli/commands/retro.js';
import type { OperatorBackend } from '../../cli/ops.js';
import { BUILTIN_SCENARIOS } from '../../local/scenario.js';
import { simulate } from '../../local/simulate.js';
import { terminal } from '../support/terminal.js';

async function backendAfter(name: string): Promise<OperatorBackend> {
  const run = await simulate({ scenario: BUILTIN_SCENARIOS.find((s) => s.name === name)! });
  return ledgerBackend('the test ledger', run.runtime.ledger);
}
const args = { local: false, stack: 'S', stateDir: '.x' };

describe('builderbrain retro', () => {
  it('a rolled-back release: the sections, the rule that decided, the timeline, what went well and what could improve', async () => {
    const { io, out } = terminal();
    expect(await retroCommand(io, await backendAfter('error-spike-at-10pct'), 'builderbrain@2.1.0', args)).toBe(0);
    const md = out.stdout;
    expect(md).toMatch(/^# Retrospective: builderbrain 2.1.0 \(draft\)/);
    for (const section of ['## The rule that decided', '## Timeline (from the audit ledger)', '## What went well', '## What could improve', '## Action items', '## Lessons learned']) expect(md).toContain(section);
    expect(md).toMatch(/rolled_back \(error_rate_increase, P1\)/);
    expect(md).toMatch(/- .*error_rate_increase P1 \(verdict\)/);
    expect(md).toMatch(/The regression was caught at 10% of traffic and rolled back automatically \(error_rate_increase, P1\), by step:AnalyzeCanary/);
    expect(md).toMatch(/The restored version was verified healthy again/);
    expect(md).toMatch(/Approvals: approved by local-operator \(phase 1\)/);
    expect(md).toMatch(/- \[ \] Find the cause of error_rate_increase in 2.1.0/);
  });

  it('a released one says so; --out writes the file', async () => {
    const written: string[] = [];
    const { io, out } = terminal();
    expect(await retroCommand({ ...io, writeFile: async (_p, t) => void written.push(t) }, await backendAfter('healthy'), 'builderbrain', { ...args, out: 'retro.md' })).toBe(0);
    expect(out.stdout).toMatch(/Retrospective draft of builderbrain-2_1_0-[0-9a-f]{8} → retro.md/);
    expect(written[0]).toMatch(/The release reached 100% through 1% → 10% → 50% → 100%/);
    expect(written[0]).toMatch(/## What could improve\n\n- \(to fill in\)/);
  });
});
