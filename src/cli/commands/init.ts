/**
 * `homeage init`: writes a starter homeage.toml in the current folder and
 * creates an identity when none is usable (src/authoring/init.ts).
 */
import { initProject, nextStep } from "../../authoring/init.js"
import { displayPath } from "../../authoring/paths.js"
import { environment } from "../../config/index.js"
import type { CommandRun } from "../context.js"

/** Runs `homeage init`; exit 1 when a config exists already (left unchanged). */
export const run: CommandRun = async (ctx) => {
    const cwd = process.cwd()
    const result = await initProject({ cwd, env: environment(process.env), report: ctx.log })

    if (result.identityFile !== undefined) {
        ctx.log.info(`created the identity ${result.identityFile} (mode 0600); back it up: `
            + "without it the secrets cannot be decrypted")
    }
    const count = result.recipients.length
    const config = displayPath(result.configFile, cwd)
    ctx.log.info(`wrote ${config} with ${count} recipient${count === 1 ? "" : "s"} and `
        + `installationType = "${result.installation.type}"`)
    if (result.installation.reason !== undefined) {
        ctx.log.info(`  (${result.installation.reason}; its comment in ${config} says how `
            + "to switch)")
    }
    ctx.log.info(nextStep(result, cwd))
    return 0
}
