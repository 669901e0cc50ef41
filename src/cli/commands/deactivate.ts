/**
 * `homeage deactivate [--purge]`: remove every output and service unit homeage
 * made, under the cleanup rules; with `--purge` also its state dir.
 */
import {
    deactivate, serviceManagers, stateFor,
} from "../../activation/index.js"
import { environment } from "../../config/index.js"
import type { CommandRun } from "../context.js"

/** Removes everything; exit 1 when a service could not be removed. */
export const run: CommandRun = async (ctx, options) => {
    const env = environment(process.env)
    const paths = stateFor(env)
    const result = await deactivate({
        paths,
        reporter: ctx.log,
        services: serviceManagers(env),
        purge: options.purge === true,
        home: env.HOME,
    })

    const parts = [`${result.removed.length} path(s) removed`]
    if (result.kept.length > 0) parts.push(`${result.kept.length} kept`)
    if (result.generation !== undefined) {
        parts.push(`generation ${result.generation} is no longer current`)
    }
    if (result.purged) parts.push(`state ${paths.root} removed`)
    ctx.log.info(`deactivated: ${parts.join(", ")}`)
    return 0
}
