/**
 * `homeage path NAME`: print the absolute path of a secret's plaintext, from
 * the config if there is one, else from the current generation.
 */
import { requireCurrent, selectSecrets, stateFor } from "../../activation/index.js"
import { environment, findConfigFile, loadConfig } from "../../config/index.js"
import { UsageError } from "../../errors.js"
import type { CommandRun } from "../context.js"

function configFile(explicit: string | undefined, env: ReturnType<typeof environment>) {
    const given = explicit !== undefined && explicit !== ""
    try {
        return findConfigFile({ explicit, env, cwd: process.cwd() })
    } catch (err) {
        if (err instanceof UsageError && !given) return undefined
        throw err
    }
}

/** Prints the path followed by a newline; exit 2 for an unknown name. */
export const run: CommandRun = async (ctx, _options, args) => {
    const name = args[0] ?? ""
    const env = environment(process.env)
    const file = configFile(ctx.globals.config, env)

    if (file !== undefined) {
        const config = await loadConfig(file, env)
        const secret = config.secrets.find((s) => s.name === name)
        if (secret === undefined) {
            throw new UsageError(`no secret named ${name} in ${file}; ` +
                `the config declares: ${config.secrets.map((s) => s.name).join(", ") || "none"}`)
        }
        process.stdout.write(`${secret.path}\n`)
        return 0
    }

    const manifest = await requireCurrent(stateFor(env))
    const [secret] = selectSecrets(manifest, [name])
    if (secret === undefined) throw new UsageError(`no secret named ${name}`)
    process.stdout.write(`${secret.path}\n`)
    return 0
}
