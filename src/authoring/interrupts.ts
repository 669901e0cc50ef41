/**
 * Catching SIGINT, SIGTERM and SIGHUP while plaintext exists, so that the
 * command can remove it before exiting instead of dying on the spot (Node.js
 * exits at once on these signals when nothing listens).
 */
import { OperationError } from "../errors.js"

/** The signals that end an edit: Ctrl-C, `kill`, a closed terminal. */
const CAUGHT_SIGNALS: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"]

/**
 * Listens for the caught signals from construction until {@link dispose}. The
 * first signal is remembered; every signal is passed to the `onSignal`
 * listeners (for example to forward it to the editor).
 */
export class Interrupts {
    /** The first signal received, if any. */
    received: NodeJS.Signals | undefined

    private readonly listeners = new Set<(signal: NodeJS.Signals) => void>()
    private readonly waiters = new Set<() => void>()
    private readonly handler = (signal: NodeJS.Signals): void => {
        this.received ??= signal
        for (const listener of this.listeners) listener(signal)
        for (const wake of this.waiters) wake()
    }

    constructor() {
        for (const signal of CAUGHT_SIGNALS) process.on(signal, this.handler)
    }

    /** Calls `listener` on every caught signal until the returned function is called. */
    onSignal(listener: (signal: NodeJS.Signals) => void): () => void {
        this.listeners.add(listener)
        return () => this.listeners.delete(listener)
    }

    /**
     * Resolves with `work`'s result, or rejects with an `OperationError` saying
     * `what` was interrupted as soon as a signal arrives (the work is abandoned).
     */
    race<T>(work: Promise<T>, what: string): Promise<T> {
        this.throwIfInterrupted(what)
        return new Promise<T>((resolve, reject) => {
            const wake = (): void => {
                this.waiters.delete(wake)
                reject(this.error(what))
            }
            this.waiters.add(wake)
            work.then(resolve, reject).finally(() => this.waiters.delete(wake))
        })
    }

    /** Throws an `OperationError` saying `what` was interrupted, if a signal was received. */
    throwIfInterrupted(what: string): void {
        if (this.received !== undefined) throw this.error(what)
    }

    /** Stops listening; the default behavior of the signals is back. */
    dispose(): void {
        for (const signal of CAUGHT_SIGNALS) process.off(signal, this.handler)
        this.listeners.clear()
        this.waiters.clear()
    }

    private error(what: string): OperationError {
        return new OperationError(`${what} was interrupted by ${this.received ?? "a signal"}`)
    }
}
