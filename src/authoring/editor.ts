/**
 * Running the user's editor on a plaintext file, and reading new content from
 * standard input when there is no terminal to edit in.
 */
import { spawn } from "node:child_process"

import { OperationError, messageOf } from "../errors.js"
import type { Interrupts } from "./interrupts.js"

/** The editor used when neither `$VISUAL` nor `$EDITOR` is set. */
export const DEFAULT_EDITOR = "vi"

/** The largest secret read from standard input (64 MiB): secrets are small files. */
export const MAX_STDIN_BYTES = 64 * 1024 * 1024

/** How the editor ended: its exit status, or the signal that killed it. */
export interface EditorExit {
    code: number | null
    signal: NodeJS.Signals | null
}

/**
 * The editor command line: `$VISUAL`, else `$EDITOR`, else `vi`, as the user
 * wrote it (it may carry arguments, e.g. `code --wait`). Empty values are
 * skipped, as git does.
 */
export function editorCommand(env: NodeJS.ProcessEnv): string {
    for (const value of [env.VISUAL, env.EDITOR]) {
        if (value !== undefined && value.trim() !== "") return value
    }
    return DEFAULT_EDITOR
}

/**
 * Runs `command` on `file` with the terminal attached, through `/bin/sh` so its
 * arguments are split and quoted as a shell would (`sh -c 'exec CMD "$1"'`; the
 * file name is passed as `$1`, never spliced into the command). `exec` makes
 * the editor the direct child, so a signal this process receives is forwarded
 * to the editor itself. Resolves when the editor exits, whatever its status.
 */
export function runEditor(command: string, file: string, interrupts: Interrupts,
): Promise<EditorExit> {
    return new Promise<EditorExit>((resolve, reject) => {
        const child = spawn("/bin/sh", ["-c", `exec ${command} "$1"`, "sh", file],
            { stdio: "inherit" })
        const stop = interrupts.onSignal((signal) => child.kill(signal))

        child.on("error", (err) => {
            stop()
            reject(new OperationError(`cannot run the editor ${command}: ${messageOf(err)}; `
                + "set $VISUAL or $EDITOR", { cause: err }))
        })
        child.on("exit", (code, signal) => {
            stop()
            resolve({ code, signal })
        })
    })
}

/** Describes an editor's non-zero exit or fatal signal for a message. */
export function describeExit(exit: EditorExit): string {
    if (exit.signal !== null) return `was killed by ${exit.signal}`
    return `exited with status ${exit.code ?? "unknown"}`
}

/**
 * Reads all of standard input, up to {@link MAX_STDIN_BYTES}. Throws an
 * `OperationError` when it is larger or cannot be read.
 */
export async function readStandardInput(what: string): Promise<Uint8Array> {
    const chunks: Buffer[] = []
    let size = 0
    try {
        for await (const chunk of process.stdin) {
            const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk))
            size += bytes.length
            if (size > MAX_STDIN_BYTES) {
                throw new OperationError(`${what}: standard input is larger than `
                    + `${MAX_STDIN_BYTES / 1024 / 1024} MiB; a secret must be smaller`)
            }
            chunks.push(bytes)
        }
    } catch (err) {
        if (err instanceof OperationError) throw err
        throw new OperationError(`${what}: cannot read standard input: ${messageOf(err)}`,
            { cause: err })
    }
    return Buffer.concat(chunks)
}
