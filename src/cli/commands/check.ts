/**
 * `homeage check`: every activation check (SPEC §5.1), decrypting every secret
 * completely, and the service manager's own checks (is it reachable, is a file
 * in the way); nothing is changed on disk or in the manager.
 */
import {
    checkActivation, loadActivationInput, serviceManagers,
} from "../../activation/index.js"
import type { CommandRun } from "../context.js"

/** Runs the checks; exit 0 when activation would proceed, 1 listing every problem. */
export const run: CommandRun = async (ctx) => {
    const input = await loadActivationInput(ctx.globals.config, process.env, process.cwd())
    const plan = await checkActivation(input.desired, {
        paths: input.paths,
        reporter: ctx.log,
        generationsToKeep: input.config.generationsToKeep,
        problems: input.conflicts,
        home: input.env.HOME,
        services: serviceManagers(input.env),
    })

    for (const line of plan.services?.plan?.summary ?? []) {
        ctx.log.detail(`activate would change services: ${line}`)
    }
    const count = plan.secrets.length
    ctx.log.info(`check passed: ${count} secret${count === 1 ? "" : "s"} decrypted and ` +
        "verified, no path in the way; nothing was changed")
    return 0
}
