/**
 * `homeage status [--json]`: per secret, whether the plaintext is present and
 * current, and each symlink and copy intact. Exit 1 if anything is not ok.
 * With `-q` nothing is printed (the exit status tells); `--json` is data the
 * caller asked for, so it is printed even then. Every path is shown the same
 * way: `~/…` inside the home folder, absolute elsewhere.
 */
import {
    secretStatus, showPath, stateFor, type OutputStatus,
} from "../../activation/index.js"
import { environment } from "../../config/index.js"
import type { CommandRun } from "../context.js"

/** What a state means for the user, when it is not self-explanatory. */
const EXPLAINED: Partial<Record<OutputStatus["state"], string>> = {
    missing: "missing",
    dangling: "dangling (its plaintext is missing)",
}

function line(kind: string, status: OutputStatus, home: string): string {
    const where = status.target === undefined ? "" : ` (-> ${status.target})`
    const state = kind === "plaintext" && status.state === "missing"
        ? "missing (run homeage start to decrypt it again)"
        : EXPLAINED[status.state] ?? status.state
    return `  ${kind} ${showPath(status.path, home)}: ${state}${where}`
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

    const out: string[] = [`generation ${report.generation}, runtime dir ` +
        showPath(report.runtimeDir, env.HOME)]
    for (const secret of report.secrets) {
        out.push(`${secret.name}: ${secret.ok ? "ok" : "not ok"}`)
        out.push(line("plaintext", secret.plaintext, env.HOME))
        for (const s of secret.symlinks) out.push(line("symlink", s, env.HOME))
        for (const c of secret.copies) out.push(line("copy", c, env.HOME))
    }
    for (const text of out) ctx.log.info(text)
    return report.ok ? 0 : 1
}
