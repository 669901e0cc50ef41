/**
 * Drives the real CLI (bin/homeage.js) in a child process, as a user would.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"

/** The absolute path of the CLI entry point. */
export const CLI = fileURLToPath(new URL("../../../bin/homeage.js", import.meta.url))

/** What one CLI run printed and how it exited. */
export interface CliResult {
    code: number | null
    signal: NodeJS.Signals | null
    stdout: string
    stderr: string
    stdoutBytes: Buffer
}

/** Options for {@link runCli}. */
export interface CliOptions {
    env?: NodeJS.ProcessEnv
    cwd?: string
    input?: string | Uint8Array
}

/** Runs `homeage ARGS…` and collects its output. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [CLI, ...args], {
            cwd: options.cwd,
            env: { NO_COLOR: "1", ...(options.env ?? process.env) },
            stdio: ["pipe", "pipe", "pipe"],
        })
        const out: Buffer[] = []
        const err: Buffer[] = []
        child.stdout.on("data", (b: Buffer) => out.push(b))
        child.stderr.on("data", (b: Buffer) => err.push(b))
        child.on("error", reject)
        child.on("close", (code, signal) => {
            const stdoutBytes = Buffer.concat(out)
            resolve({
                code, signal, stdoutBytes,
                stdout: stdoutBytes.toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
            })
        })
        child.stdin.on("error", () => undefined)
        child.stdin.end(options.input ?? "")
    })
}
