/**
 * `homeage deactivate [--purge]`: remove every output and service unit homeage
 * made, under the cleanup rules; with `--purge` also its state dir. Signals
 * end it cleanly, as for activate.
 */
import {
    deactivate, serviceManagers, showPath, stateFor,
} from "../../activation/index.js"
import { environment } from "../../config/index.js"
import { runInterruptible } from "../../fs/interrupt.js"
import type { CommandRun } from "../context.js"

/** Removes everything; exit 1 when a service could not be removed. */
export const run: CommandRun = async (ctx, options) => {
    const env = environment(process.env)
    const paths = stateFor(env)
    const purge = options.purge === true
    return runInterruptible((line) => { ctx.log.error(line) }, async () => {
        const result = await deactivate({
            paths, reporter: ctx.log, services: serviceManagers(env), purge, home: env.HOME,
        })

        const state = showPath(paths.root, env.HOME)
        if (!result.hadState) {
            ctx.log.info(`nothing to deactivate: there is no state in ${state}` +
                (purge ? " (nothing to purge)" : ""))
            return 0
        }
        const parts = [`${result.removed.length} path(s) removed`]
        if (result.kept.length > 0) parts.push(`${result.kept.length} kept`)
        if (result.generation !== undefined) {
            parts.push(`generation ${result.generation} is no longer current`)
        }
        if (result.purged) parts.push(`state ${state} removed`)
        ctx.log.info(`deactivated: ${parts.join(", ")}`)
        return 0
    })
}
