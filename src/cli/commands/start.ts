/**
 * `homeage start [NAME…]`: decrypt the current generation into the runtime dir,
 * from the state alone (what the login service runs). It also removes the
 * plaintext of edits that were killed. Signals end it cleanly, as for activate.
 */
import { dirname } from "node:path"

import { readCurrentQuietly, stateFor, startSecrets } from "../../activation/index.js"
import { removeStaleEditFolders } from "../../authoring/edit-folder.js"
import { environment } from "../../config/index.js"
import { runInterruptible } from "../../fs/interrupt.js"
import type { CommandRun } from "../context.js"

/** Re-creates missing outputs; exit 1 naming each secret that failed. */
export const run: CommandRun = async (ctx, _options, args) => {
    const env = environment(process.env)
    const paths = stateFor(env)
    return runInterruptible((line) => { ctx.log.error(line) }, async () => {
        const current = await readCurrentQuietly(paths)
        const bases = [current === undefined ? undefined : dirname(current.runtimeDir),
            env.XDG_RUNTIME_DIR]
        for (const stale of await removeStaleEditFolders(bases)) {
            ctx.log.detail(`removed ${stale}, left by an edit that was killed`)
        }

        const result = await startSecrets({ paths, reporter: ctx.log, names: args, home: env.HOME })
        const started = result.done.length
        const already = result.untouched.length
        ctx.log.info(started === 0
            ? `nothing to start: ${already} secret(s) already in place ` +
                `(generation ${result.generation})`
            : `${started} started, ${already} already in place (generation ${result.generation})`)
        return 0
    })
}
