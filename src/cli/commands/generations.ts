/**
 * `homeage generations`: one line per stored generation, oldest first: its
 * number, when it was made, how many secrets it has, and which is current.
 * With `-q` nothing is printed.
 */
import { stateFor } from "../../activation/index.js"
import { environment } from "../../config/index.js"
import { messageOf } from "../../errors.js"
import {
    currentGeneration, listGenerations, pendingGeneration, readGeneration,
} from "../../generations/index.js"
import type { CommandRun } from "../context.js"

/** A manifest's ISO 8601 time without fractions of a second, e.g. `2026-01-31T09:15:00Z`. */
function when(created: string): string {
    return created.replace(/\.\d+Z$/, "Z")
}

/** Prints the list on standard output; exit 0, also when there is none yet. */
export const run: CommandRun = async (ctx) => {
    const paths = stateFor(environment(process.env))
    const numbers = await listGenerations(paths)
    if (numbers.length === 0) {
        ctx.log.info(`no generations in ${paths.root} yet; run homeage activate`)
        return 0
    }

    const current = await currentGeneration(paths)
    const pending = await pendingGeneration(paths)
    const width = String(numbers[numbers.length - 1]).length
    for (const n of numbers) {
        const number = String(n).padStart(width)
        const marks = [n === current ? "(current)" : "",
            n === pending && n !== current ? "(switch not finished)" : ""]
            .filter((m) => m !== "")
        let line: string
        try {
            const manifest = await readGeneration(paths, n)
            const count = manifest.secrets.length
            line = `${number}  ${when(manifest.created)}  ${count} secret${count === 1 ? "" : "s"}`
        } catch (err) {
            line = `${number}  damaged: ${messageOf(err)}`
        }
        ctx.log.info([line, ...marks].join("  "))
    }
    if (current === undefined) {
        ctx.log.info("none is current (as after homeage deactivate): homeage rollback N makes " +
            "one current again, homeage activate makes a new one")
    }
    return 0
}
