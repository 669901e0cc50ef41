/**
 * Asking for passphrases: from the program named by `HOMEAGE_ASKPASS` (as
 * `SSH_ASKPASS`: the prompt is its argument, its standard output minus the
 * trailing newline is the passphrase), else from the terminal (/dev/tty, not
 * echoed). With neither, the answer is `undefined` at once, so that a run
 * without a terminal never blocks and the caller can skip that key.
 */
import { spawn } from "node:child_process"
import { closeSync, constants, openSync, writeSync } from "node:fs"
import { ReadStream } from "node:tty"

import { OperationError, messageOf } from "../errors.js"
import type { PassphraseReader } from "./types.js"

/** The environment variable naming the askpass program. */
export const ASKPASS_VARIABLE = "HOMEAGE_ASKPASS"

/** Longest passphrase accepted from the askpass program or the terminal (64 KiB). */
const MAX_PASSPHRASE_BYTES = 64 * 1024

const CTRL_C = "\u0003"
const CTRL_D = "\u0004"
const CTRL_U = "\u0015"
const BACKSPACE = new Set(["\u0008", "\u007f"])

/**
 * What was typed (or pasted) after the end of the last answer, so that a
 * second prompt (the confirmation) gets it instead of losing it.
 */
let typedAhead = ""

/**
 * Asks for a passphrase with `prompt`. Resolves `undefined` when there is no
 * askpass program and no terminal, or the askpass program fails or the user
 * ends input with Ctrl-D; rejects with an `OperationError` when the user
 * presses Ctrl-C at the prompt.
 */
export const readPassphrase: PassphraseReader = async (prompt) => {
    const askpass = process.env[ASKPASS_VARIABLE]
    if (askpass !== undefined && askpass !== "") return runAskpass(askpass, prompt)
    return readFromTerminal(prompt)
}

/** Whether a passphrase could be asked for now (askpass set, or a terminal to open). */
export function canAskPassphrase(): boolean {
    const askpass = process.env[ASKPASS_VARIABLE]
    if (askpass !== undefined && askpass !== "") return true
    const fd = openTerminal()
    if (fd === undefined) return false
    closeSync(fd)
    return true
}

/** Whether passphrases come from the askpass program, which is asked only once per secret. */
export function usesAskpass(): boolean {
    const askpass = process.env[ASKPASS_VARIABLE]
    return askpass !== undefined && askpass !== ""
}

function runAskpass(program: string, prompt: string): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
        const child = spawn(program, [prompt], { stdio: ["ignore", "pipe", "inherit"] })
        const out: Buffer[] = []
        let size = 0
        child.stdout.on("data", (piece: Buffer) => {
            size += piece.length
            if (size <= MAX_PASSPHRASE_BYTES) out.push(piece)
        })
        child.on("error", (err) => {
            reject(new OperationError(`cannot run ${ASKPASS_VARIABLE} program ${program}: `
                + `${messageOf(err)}; fix or unset ${ASKPASS_VARIABLE}`, { cause: err }))
        })
        child.on("close", (code) => {
            if (code !== 0 || size > MAX_PASSPHRASE_BYTES) {
                resolve(undefined)
                return
            }
            resolve(Buffer.concat(out).toString("utf8").replace(/\r?\n$/, ""))
        })
    })
}

function openTerminal(): number | undefined {
    try {
        return openSync("/dev/tty", constants.O_RDWR | constants.O_NOCTTY)
    } catch {
        return undefined
    }
}

async function readFromTerminal(prompt: string): Promise<string | undefined> {
    const fd = openTerminal()
    if (fd === undefined) return undefined

    // The stream owns the descriptor from here on and closes it when destroyed.
    const input = new ReadStream(fd)
    try {
        writeSync(fd, prompt)
        input.setRawMode(true)
        return await collectLine(input)
    } finally {
        input.setRawMode(false)
        input.pause()
        try {
            writeSync(fd, "\n")
        } catch {
            // The terminal went away; nothing to tidy up on it.
        }
        input.destroy()
    }
}

function collectLine(input: ReadStream): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
        let typed = ""
        const finish = (value: string | undefined, err?: Error): true => {
            input.off("data", onData)
            if (err === undefined) resolve(value)
            else reject(err)
            return true
        }
        /** Takes typed characters; true once the answer is complete. */
        const consume = (text: string): boolean => {
            const chars = Array.from(text)
            for (const [index, char] of chars.entries()) {
                if (char === "\r" || char === "\n") {
                    typedAhead = chars.slice(index + 1).join("")
                    return finish(typed)
                }
                if (char === CTRL_C) {
                    return finish(undefined, new OperationError("cancelled at a passphrase prompt"))
                }
                if (char === CTRL_D && typed === "") return finish(undefined)

                if (char === CTRL_U) typed = ""
                else if (BACKSPACE.has(char)) typed = Array.from(typed).slice(0, -1).join("")
                else if (typed.length < MAX_PASSPHRASE_BYTES) typed += char
            }
            return false
        }
        const onData = (piece: Buffer): void => {
            consume(piece.toString("utf8"))
        }

        const earlier = typedAhead
        typedAhead = ""
        if (earlier !== "" && consume(earlier)) return
        input.on("data", onData)
        input.resume()
    })
}
