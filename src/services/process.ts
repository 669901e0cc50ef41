/**
 * Runs a service manager's command line tool (`systemctl`, `launchctl`) and
 * collects its output. Kept behind a function type so tests can put a fake in
 * its place and record the calls.
 */
import { spawn } from "node:child_process"

/** How one run of a tool ended. */
export interface ProcessResult {
    /** Exit status; `null` when a signal ended it. */
    code: number | null
    stdout: string
    stderr: string
}

/** Runs `file` with `args` and resolves with its result; rejects only when it cannot be started. */
export type ProcessRunner = (file: string, args: readonly string[]) => Promise<ProcessResult>

/**
 * A runner that spawns the real program, found through `PATH`, with `env`
 * (default: this process's environment) and no standard input.
 */
export function spawnRunner(env: NodeJS.ProcessEnv = process.env): ProcessRunner {
    return (file, args) => new Promise((resolve, reject) => {
        const child = spawn(file, [...args], { env, stdio: ["ignore", "pipe", "pipe"] })
        const out: Buffer[] = []
        const err: Buffer[] = []

        child.stdout.on("data", (chunk: Buffer) => out.push(chunk))
        child.stderr.on("data", (chunk: Buffer) => err.push(chunk))
        child.on("error", reject)
        child.on("close", (code) => {
            resolve({
                code,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
            })
        })
    })
}

/** The first non-empty line of a tool's error output, for messages. */
export function firstLine(text: string): string {
    return text.split("\n").map((line) => line.trim()).find((line) => line !== "") ?? ""
}
