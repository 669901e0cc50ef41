/**
 * Asking for passphrases: from the program named by `HOMEAGE_ASKPASS` (as
 * `SSH_ASKPASS`: the prompt is its argument, its standard output minus the
 * trailing newline is the passphrase), else from the terminal (/dev/tty, not
 * echoed). With neither, the answer is `undefined` at once, so that a run
 * without a terminal never blocks and the caller can skip that key. An askpass
 * program that fails is an {@link AskpassError} naming it and what it did.
 */
import { spawn } from "node:child_process"
import { closeSync, constants, openSync, writeSync } from "node:fs"
import { ReadStream } from "node:tty"

import { OperationError, messageOf } from "../errors.js"
import type { PassphraseReader } from "./types.js"

/** The environment variable naming the askpass program. */
export const ASKPASS_VARIABLE = "HOMEAGE_ASKPASS"

/**
 * How long the askpass program may take to answer (5 minutes): long enough to
 * type into a dialog, short enough that a hung program does not block a login
 * forever.
 */
export const ASKPASS_TIMEOUT_MS = 5 * 60 * 1000

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
 * Why a passphrase-protected key or file is skipped when there is no way to
 * ask for its passphrase; shared so that every such message reads the same.
 */
export const NO_PASSPHRASE_SOURCE = "there is no terminal to ask for its passphrase and"
    + ` ${ASKPASS_VARIABLE} is not set`

/**
 * The askpass program failed to give a passphrase: it could not be started,
 * exited with a non-zero status or a signal, printed nothing or too much, or
 * gave no answer in time. A key that needed it is skipped (with this message);
 * a file that needed it is not decrypted. Exit status 1.
 */
export class AskpassError extends OperationError {
    /** What went wrong, without the advice; for lists of skipped keys. */
    readonly detail: string

    constructor(detail: string, options?: { cause?: unknown }) {
        super(`${detail}; fix the program or unset ${ASKPASS_VARIABLE}`, options)
        this.detail = detail
    }
}

/**
 * Asks for a passphrase with `prompt`. Resolves `undefined` when there is no
 * askpass program and no terminal, or the user ends input with Ctrl-D at the
 * terminal. Rejects with an {@link AskpassError} when the askpass program
 * fails (see {@link askpass}), and with an `OperationError` when the user
 * presses Ctrl-C at the prompt.
 */
export const readPassphrase: PassphraseReader = async (prompt) => {
    const program = process.env[ASKPASS_VARIABLE]
    if (program !== undefined && program !== "") return askpass(program, prompt)
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

/**
 * Runs the askpass `program` with `prompt` as its only argument and resolves
 * its standard output minus one trailing newline. Its standard error goes to
 * ours, so that its own complaints reach the user. Rejects with an
 * {@link AskpassError} naming the program when it cannot be started, exits
 * with a non-zero status or is killed by a signal, prints an empty passphrase
 * or more than 64 KiB, or gives no answer within `timeoutMs` (default
 * {@link ASKPASS_TIMEOUT_MS}); it is then killed, so that nothing blocks
 * forever.
 */
export function askpass(
    program: string, prompt: string, timeoutMs = ASKPASS_TIMEOUT_MS,
): Promise<string> {
    const name = `${ASKPASS_VARIABLE} program ${program}`
    return new Promise((resolve, reject) => {
        const child = spawn(program, [prompt], { stdio: ["ignore", "pipe", "inherit"] })
        const out: Buffer[] = []
        let size = 0
        let settled = false
        const settle = (value: string | AskpassError): void => {
            if (settled) return
            settled = true
            clearTimeout(timer)
            if (typeof value === "string") resolve(value)
            else reject(value)
        }
        const timer = setTimeout(() => {
            // Killed outright: after minutes without an answer, nothing is worth waiting for.
            child.kill("SIGKILL")
            // A process it started may still hold the pipe; stop reading it.
            child.stdout.destroy()
            settle(new AskpassError(`${name} gave no passphrase within`
                + ` ${describeDuration(timeoutMs)} and was stopped`))
        }, timeoutMs)

        child.stdout.on("data", (piece: Buffer) => {
            size += piece.length
            if (size <= MAX_PASSPHRASE_BYTES) out.push(piece)
        })
        child.on("error", (err) => {
            settle(new AskpassError(`cannot run ${name}: ${messageOf(err)}`, { cause: err }))
        })
        child.on("close", (code, signal) => {
            if (signal !== null) {
                settle(new AskpassError(`${name} was killed by signal ${signal}`))
                return
            }
            if (code !== 0) {
                settle(new AskpassError(`${name} failed with exit status ${String(code)}`))
                return
            }
            if (size > MAX_PASSPHRASE_BYTES) {
                settle(new AskpassError(`${name} printed more than 64 KiB, too long for a`
                    + " passphrase"))
                return
            }
            const answer = Buffer.concat(out).toString("utf8").replace(/\r?\n$/, "")
            if (answer === "") {
                settle(new AskpassError(`${name} returned an empty passphrase`))
                return
            }
            settle(answer)
        })
    })
}

/** A duration in the largest whole unit that fits: `5 minutes`, `200 ms`. */
function describeDuration(ms: number): string {
    const minute = 60 * 1000
    if (ms % minute === 0) return `${ms / minute} minute${ms === minute ? "" : "s"}`
    if (ms % 1000 === 0) return `${ms / 1000} s`
    return `${ms} ms`
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
