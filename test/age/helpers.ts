/**
 * Helpers for the age layer's tests: running the CLI and the real peers (Go
 * age, ssh-keygen) in processes without a controlling terminal, so that no
 * test can ever prompt the person running it, and a pseudo-terminal for the
 * peers that read passphrases only from a terminal.
 */
import { spawn } from "node:child_process"
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

import { CLI } from "../helpers/cli.js"

/** What one process run printed and how it exited. */
export interface RunResult {
    code: number | null
    stdout: Buffer
    stderr: string
}

/** Options for {@link run}. */
export interface RunOptions {
    input?: string | Uint8Array
    env?: NodeJS.ProcessEnv
    cwd?: string
}

/**
 * Runs `command ARGS…` in a new session (no controlling terminal), feeding
 * `input` on standard input.
 */
export function run(
    command: string, args: string[], options: RunOptions = {},
): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, {
            cwd: options.cwd,
            env: { ...process.env, NO_COLOR: "1", ...options.env },
            stdio: ["pipe", "pipe", "pipe"],
            detached: true,
        })
        const out: Buffer[] = []
        const err: Buffer[] = []
        child.stdout.on("data", (b: Buffer) => out.push(b))
        child.stderr.on("data", (b: Buffer) => err.push(b))
        child.on("error", reject)
        child.on("close", (code) => {
            resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() })
        })
        child.stdin.on("error", () => undefined)
        child.stdin.end(options.input ?? "")
    })
}

/** Runs `homeage ARGS…` (the built CLI) without a controlling terminal. */
export function homeage(args: string[], options: RunOptions = {}): Promise<RunResult> {
    return run(process.execPath, [CLI, ...args], options)
}

/**
 * Runs a shell command line inside a pseudo-terminal (util-linux `script`),
 * typing `typed` into it: for Go age, which reads passphrases only from a
 * terminal. Its output is the terminal's, so callers write results to files.
 */
export function inTerminal(commandLine: string, typed: string, cwd: string): Promise<RunResult> {
    return run("script", ["-qec", commandLine, "/dev/null"], { input: typed, cwd })
}

/** A fresh temp folder, and a function removing it. */
export function tempFolder(prefix: string): { dir: string, remove: () => void } {
    const dir = mkdtempSync(join(tmpdir(), `homeage-${prefix}-`))
    return { dir, remove: () => { rmSync(dir, { recursive: true, force: true }) } }
}

/** Writes an executable askpass script printing `passphrase`, and returns its path. */
export function askpassScript(dir: string, passphrase: string, name = "askpass.sh"): string {
    const path = join(dir, name)
    const quoted = passphrase.replaceAll("'", "'\\''")
    writeFileSync(path, `#!/bin/sh\nprintf '%s\\n' '${quoted}'\n`)
    chmodSync(path, 0o755)
    return path
}

/** Runs `command ARGS…` and throws with its stderr unless it exits 0. */
export async function must(
    command: string, args: string[], options: RunOptions = {},
): Promise<Buffer> {
    const result = await run(command, args, options)
    if (result.code !== 0) {
        throw new Error(`${command} ${args.join(" ")} exited ${result.code}: ${result.stderr}`)
    }
    return result.stdout
}
