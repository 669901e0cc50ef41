/**
 * `homeage rollback [N]`: make generation N (default: the one before the
 * current) current again, from the state dir alone; no config is read.
 */
import {
    rollback, serviceManagers, stateFor, summarize,
} from "../../activation/index.js"
import { environment } from "../../config/index.js"
import { UsageError } from "../../errors.js"
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
    const result = await rollback({
        paths: stateFor(env),
        reporter: ctx.log,
        target: given === undefined ? undefined : Number(given),
        services: serviceManagers(env),
        home: env.HOME,
    })

    ctx.log.info(`rolled back: ${summarize(result, false)}`)
    return 0
}
