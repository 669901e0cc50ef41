/**
 * `homeage rollback [N]`: make generation N current again, from the state dir
 * alone; no config is read. Without N: the highest-numbered stored generation
 * below the current one, so repeated bare rollbacks walk down the numbers.
 * The chosen generation becomes current even when its files are already in
 * place. Signals end it cleanly, as for activate.
 */
import {
    rollback, serviceManagers, stateFor, summarize,
} from "../../activation/index.js"
import { environment } from "../../config/index.js"
import { UsageError } from "../../errors.js"
import { runInterruptible } from "../../fs/interrupt.js"
import type { CommandRun } from "../context.js"

/** A generation number as typed: a positive decimal integer. */
const GENERATION_NUMBER = /^[1-9]\d*$/

/** Switches to the generation; prints one line per secret and a summary. */
export const run: CommandRun = async (ctx, _options, args) => {
    const given = args[0]
    if (given !== undefined && !GENERATION_NUMBER.test(given)) {
        throw new UsageError(`${JSON.stringify(given)} is not a generation number; ` +
            "homeage generations lists them")
    }

    const env = environment(process.env)
    return runInterruptible((line) => { ctx.log.error(line) }, async () => {
        const result = await rollback({
            paths: stateFor(env),
            reporter: ctx.log,
            target: given === undefined ? undefined : Number(given),
            services: serviceManagers(env),
            home: env.HOME,
        })

        ctx.log.info(`rolled back: ${summarize(result, false)}`)
        return 0
    })
}
