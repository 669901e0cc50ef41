/**
 * `homeage status [--json]`: per secret, whether the plaintext is present and
 * current, and each symlink and copy intact. Exit 1 if anything is not ok.
 */
import {
    secretStatus, showPath, stateFor, type OutputStatus,
} from "../../activation/index.js"
import { environment } from "../../config/index.js"
import type { CommandRun } from "../context.js"

function line(kind: string, status: OutputStatus, home: string): string {
    const where = status.target === undefined ? "" : ` (-> ${status.target})`
    return `  ${kind} ${showPath(status.path, home)}: ${status.state}${where}`
}

/** Prints the status; exit 0 when every output is ok, else 1. */
export const run: CommandRun = async (ctx, options, args) => {
    const env = environment(process.env)
    const report = await secretStatus({
        paths: stateFor(env), reporter: ctx.log, names: args, home: env.HOME,
    })

    if (options.json === true) {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
        return report.ok ? 0 : 1
    }

    const out: string[] = [`generation ${report.generation}, runtime dir ${report.runtimeDir}`]
    for (const secret of report.secrets) {
        out.push(`${secret.name}: ${secret.ok ? "ok" : "not ok"}`)
        out.push(line("plaintext", secret.plaintext, env.HOME))
        for (const s of secret.symlinks) out.push(line("symlink", s, env.HOME))
        for (const c of secret.copies) out.push(line("copy", c, env.HOME))
    }
    process.stdout.write(`${out.join("\n")}\n`)
    return report.ok ? 0 : 1
}
