/**
 * `homeage start [NAME…]`: decrypt the current generation into the runtime dir,
 * from the state alone (what the login service runs).
 */
import { stateFor, startSecrets } from "../../activation/index.js"
import { environment } from "../../config/index.js"
import type { CommandRun } from "../context.js"

/** Re-creates missing outputs; exit 1 naming each secret that failed. */
export const run: CommandRun = async (ctx, _options, args) => {
    const env = environment(process.env)
    const result = await startSecrets({
        paths: stateFor(env), reporter: ctx.log, names: args, home: env.HOME,
    })

    const started = result.done.length
    const already = result.untouched.length
    ctx.log.info(started === 0
        ? `nothing to start: ${already} secret(s) already in place ` +
            `(generation ${result.generation})`
        : `${started} started, ${already} already in place (generation ${result.generation})`)
    return 0
}
