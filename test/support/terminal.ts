/** A fake terminal for the commands' functions: what they write, kept. */
import type { CliIO } from '../../cli/common.js';

export function terminal(): { io: CliIO; out: { stdout: string; stderr: string } } {
  const out = { stdout: '', stderr: '' };
  const io: CliIO = { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t), readFile: async () => '', isTTY: false };
  return { io, out };
}
