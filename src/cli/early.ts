/**
 * What `bin/homeage.js` tries before it loads the command line, for a command
 * line that names `activate`: the record of an earlier run of exactly this
 * command line that found nothing to change (src/activation/unchanged.ts). When
 * that record still holds, the run prints what that run printed and is done,
 * having loaded a few small modules instead of the whole command line. In
 * every other case it returns false and nothing was printed or changed, and
 * the command line runs as usual. Bundled on its own (`dist/cli/early.cjs`).
 */
import { stateFor } from "../generations/state.js"
import { runKey, unchangedSince } from "../activation/unchanged.js"
import { removeStaleEditFolders } from "../authoring/edit-folder.js"
import { environment } from "../config/environment.js"

/**
 * Answers `argv` (without the node and script paths) from the record of an
 * unchanged run, when there is one for exactly this command line, environment
 * and working folder and everything it noted is as it was. Returns whether
 * it answered. Folders left by a killed `edit` are removed first, as
 * `activate` does; if that fails, the error is thrown and nothing is printed.
 */
export async function answerFromRecord(argv: readonly string[]): Promise<boolean> {
    if (!argv.includes("activate")) return false
    const key = runKey(argv)
    if (key === undefined) return false
    const seen = unchangedSince(stateFor(environment(process.env)), key)
    if (seen === undefined) return false

    await removeStaleEditFolders(seen.editBases)
    process.stdout.on("error", () => undefined)
    process.stdout.write(seen.output)
    return true
}
