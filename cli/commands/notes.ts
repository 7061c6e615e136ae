import type { Command } from 'commander';
import { releaseNotes } from '../../core/notes.js';
import { EXIT, MANIFEST_HINT, loadManifest, reportLoadFailure, type CliIO, type CommandContext } from '../common.js';

/** `builderbrain notes <manifest.json>`: release notes in the format of RELEASE.md §9.1 (Markdown). */
export async function notesCommand(io: CliIO, file: string): Promise<number> {
  const loaded = await loadManifest(io, file);
  if (!loaded.ok) {
    reportLoadFailure(io, file, 'release manifest', loaded);
    if (loaded.kind === 'invalid') io.stderr(MANIFEST_HINT);
    return EXIT.invalid;
  }
  io.stdout(releaseNotes(loaded.value));
  return EXIT.ok;
}

export function registerNotes(program: Command, ctx: CommandContext): void {
  program
    .command('notes')
    .description('print the release notes of a manifest (Markdown, RELEASE.md §9.1 format)')
    .argument('<manifest.json>', 'path of the release manifest')
    .addHelpText(
      'after',
      '\nExit codes: 0 notes printed · 2 invalid input\n' +
        'Example:\n  $ builderbrain notes release.json > RELEASE_NOTES.md\n',
    )
    .action(async (file: string) => {
      ctx.setExitCode(await notesCommand(ctx.io, file));
    });
}
