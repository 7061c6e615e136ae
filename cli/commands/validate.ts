import type { Command } from 'commander';
import { EXIT, MANIFEST_HINT, loadManifest, reportLoadFailure, styleFor, type CliIO, type CommandContext } from '../common.js';

/** `builderbrain validate <manifest.json>`: 0 valid, 2 invalid (each bad field named on stderr). */
export async function validateCommand(io: CliIO, file: string): Promise<number> {
  const loaded = await loadManifest(io, file);
  if (!loaded.ok) {
    reportLoadFailure(io, file, 'release manifest', loaded);
    if (loaded.kind === 'invalid') io.stderr(MANIFEST_HINT);
    return EXIT.invalid;
  }
  const m = loaded.value;
  const from = m.previousVersion === null ? 'first release' : `from ${m.previousVersion}`;
  io.stdout(`${styleFor(io).green('valid:')} '${file}' is a valid release manifest (${m.model} ${m.version}, ${m.releaseType} ${from})\n`);
  return EXIT.ok;
}

export function registerValidate(program: Command, ctx: CommandContext): void {
  program
    .command('validate')
    .description('validate a release manifest (release.json) against the manifest contract')
    .argument('<manifest.json>', 'path of the release manifest')
    .addHelpText(
      'after',
      '\nExit codes: 0 valid · 2 invalid (each bad field is named by its path on stderr)\n' +
        'Example:\n  $ builderbrain validate models/builderbrain/2.1.0/release.json\n',
    )
    .action(async (file: string) => {
      ctx.setExitCode(await validateCommand(ctx.io, file));
    });
}
