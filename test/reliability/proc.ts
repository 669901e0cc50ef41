/**
 * Running the real CLI as a child process the suites can kill, signal and
 * instrument (through the inject.js preload), collecting what it printed.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { fileURLToPath } from "node:url"

import { CLI } from "../helpers/cli.js"

/** The compiled preload (see inject.ts). */
export const INJECT = fileURLToPath(new URL("./inject.js", import.meta.url))

/** How a run ended and what it printed. */
export interface Finished {
    code: number | null
    signal: NodeJS.Signals | null
    stdout: string
    stderr: string
}

/** A started run. */
export interface Running {
    child: ChildProcess
    pid: number
    done: Promise<Finished>
}

/** Options of {@link startCli}. */
export interface StartOptions {
    env: NodeJS.ProcessEnv
    cwd?: string
    /** Load the inject.js preload. */
    inject?: boolean
}

/** Starts `homeage ARGS…` with exactly `options.env`. */
export function startCli(args: string[], options: StartOptions): Running {
    const node = options.inject === true ? ["--import", INJECT] : []
    const child = spawn(process.execPath, [...node, CLI, ...args], {
        cwd: options.cwd, env: options.env, stdio: ["ignore", "pipe", "pipe"],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on("data", (b: Buffer) => out.push(b))
    child.stderr.on("data", (b: Buffer) => err.push(b))
    const done = new Promise<Finished>((resolve, reject) => {
        child.on("error", reject)
        child.on("close", (code, signal) => {
            resolve({
                code, signal,
                stdout: Buffer.concat(out).toString("utf8"),
                stderr: Buffer.concat(err).toString("utf8"),
            })
        })
    })
    if (child.pid === undefined) throw new Error("the CLI did not start")
    return { child, pid: child.pid, done }
}

/** Runs `homeage ARGS…` to the end. */
export function runToEnd(args: string[], options: StartOptions): Promise<Finished> {
    return startCli(args, options).done
}

/** Whether an error output shows a stack trace or an internal error. */
export function looksLikeCrash(stderr: string): boolean {
    return /^\s+at .+[:(]/m.test(stderr) || stderr.includes("internal error")
        || /\b(TypeError|RangeError|ReferenceError|SyntaxError)\b/.test(stderr)
}
