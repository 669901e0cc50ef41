/**
 * `homeage stop [NAME…]`: remove the current generation's outputs with the
 * cleanup rules; the generation stays current. A secret's systemd unit runs
 * it with the hidden `--from-unit` flag (see activation/handover.ts). Signals
 * end it cleanly, as for activate.
 */
import { stateFor, stopSecrets } from "../../activation/index.js"
import { environment } from "../../config/index.js"
import { runInterruptible } from "../../fs/interrupt.js"
import type { CommandRun } from "../context.js"

/** Removes outputs; exit 1 naming each secret that failed, 2 for a name never declared. */
export const run: CommandRun = async (ctx, options, args) => {
    const env = environment(process.env)
    return runInterruptible((line) => { ctx.log.error(line) }, async () => {
        const result = await stopSecrets({
            paths: stateFor(env), reporter: ctx.log, names: args, home: env.HOME,
            fromUnit: options.fromUnit === true,
        })

        if (result === undefined) {
            ctx.log.info("no current generation; nothing to stop")
            return 0
        }
        const kept = result.kept.length > 0 ? `, ${result.kept.length} path(s) kept` : ""
        ctx.log.info(`${result.done.length} stopped${kept} (generation ${result.generation})`)
        return 0
    })
}
