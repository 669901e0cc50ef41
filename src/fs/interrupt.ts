/**
 * SIGINT, SIGTERM and SIGHUP during a mutating command (activate, rollback,
 * start, stop, deactivate). Without a listener Node.js dies on the spot and
 * leaves complete plaintext temp files beside their targets; with this guard
 * the first signal is remembered, the file being written is finished or
 * abandoned at the next safe point ({@link throwIfInterrupted}, checked before
 * every rename and between secrets), every temp file is removed and the lock
 * released on the way out, and the command exits 128 + the signal number with
 * one line saying what state it left. A second signal exits at once, after
 * removing the temp files and the lock synchronously.
 */
import { readFileSync, unlinkSync } from "node:fs"

import { OperationError } from "../errors.js"

/** The signals a mutating command catches: Ctrl-C, `kill`, a closed terminal. */
const CAUGHT_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"]

/** Signal numbers, for the exit status 128 + N that shells expect. */
const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = {
    SIGHUP: 1, SIGINT: 2, SIGTERM: 15,
}

/** Added to a signal's number to make the exit status of a run it ended. */
const SIGNAL_EXIT_BASE = 128

/** What an interruption leaves, until a step says otherwise. */
const NOTHING_CHANGED = "nothing was changed"

/** A run ended by a signal; `status` is the exit status to use (130 for SIGINT). */
export class InterruptedError extends OperationError {
    /** The signal that ended the run. */
    readonly signal: NodeJS.Signals
    /** 128 + the signal's number. */
    readonly status: number

    constructor(signal: NodeJS.Signals, note: string) {
        super(`interrupted by ${signal}; ${note}`)
        this.signal = signal
        this.status = exitStatusOf(signal)
    }
}

/** The exit status of a run ended by `signal`: 128 + its number. */
export function exitStatusOf(signal: NodeJS.Signals): number {
    return SIGNAL_EXIT_BASE + (SIGNAL_NUMBERS[signal] ?? 0)
}

interface Guard {
    received: NodeJS.Signals | undefined
    note: string
}

let guard: Guard | undefined

/** Temp files this process created and has not renamed or removed yet. */
const liveTemps = new Set<string>()

/** Lock files this process holds, with the content it wrote into them. */
const heldLocks = new Map<string, string>()

/** Records a temp file this process just created (removed on a forced exit). */
export function trackTemp(path: string): void {
    liveTemps.add(path)
}

/** Forgets a temp file once it was renamed into place or removed. */
export function untrackTemp(path: string): void {
    liveTemps.delete(path)
}

/** Records a lock this process holds, with its content, so a forced exit can release it. */
export function trackLock(path: string, content: string): void {
    heldLocks.set(path, content)
}

/** Forgets a lock once released. */
export function untrackLock(path: string): void {
    heldLocks.delete(path)
}

/**
 * Says what an interruption from now on would leave, for its message, e.g.
 * `the switch to generation 3 is partly done: run homeage activate`. Ignored
 * when no guard runs.
 */
export function setInterruptNote(note: string): void {
    if (guard !== undefined) guard.note = note
}

/** Throws an {@link InterruptedError} if a caught signal arrived; a no-op without a guard. */
export function throwIfInterrupted(): void {
    if (guard?.received !== undefined) throw new InterruptedError(guard.received, guard.note)
}

/** Whether a caught signal arrived during the running guard. */
export function interrupted(): boolean {
    return guard?.received !== undefined
}

function removeSync(path: string): void {
    try {
        unlinkSync(path)
    } catch {
        // Already gone, or not ours to remove: nothing more can be done on the way out.
    }
}

function forcedExit(signal: NodeJS.Signals, say: (line: string) => void): never {
    for (const temp of liveTemps) removeSync(temp)
    for (const [lock, content] of heldLocks) {
        let now = ""
        try {
            now = readFileSync(lock, "utf8")
        } catch {
            continue
        }
        if (now === content) removeSync(lock)
    }
    say(`interrupted twice (${signal}); stopped at once: ${guard?.note ?? NOTHING_CHANGED}`)
    process.exit(exitStatusOf(signal))
}

/**
 * Runs a mutating command's `work` with SIGINT, SIGTERM and SIGHUP caught.
 * The first signal makes the next {@link throwIfInterrupted} throw, so the
 * work unwinds through its own cleanup (`finally` blocks remove temp files
 * and release the lock); this then prints the error's one line with `say` and
 * returns its status (130, 143 or 129). A second signal removes the tracked
 * temp files and locks synchronously and exits at once. Returns `work`'s own
 * status when it finishes first.
 */
export async function runInterruptible(
    say: (line: string) => void, work: () => Promise<number>,
): Promise<number> {
    const own: Guard = { received: undefined, note: NOTHING_CHANGED }
    const handler = (signal: NodeJS.Signals): void => {
        if (own.received !== undefined) forcedExit(signal, say)
        own.received = signal
    }
    guard = own
    for (const signal of CAUGHT_SIGNALS) process.on(signal, handler)

    try {
        return await work()
    } catch (err) {
        if (!(err instanceof InterruptedError)) throw err
        say(err.message)
        return err.status
    } finally {
        for (const signal of CAUGHT_SIGNALS) process.off(signal, handler)
        if (guard === own) guard = undefined
    }
}
