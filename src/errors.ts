/**
 * Error classes, one per exit status of the CLI (see SPEC §4): 2 for usage and
 * config errors, 1 for an operation that failed. Messages name the secret, the
 * file and the fix; they never carry plaintext, key material or passphrases.
 */

/** Base class of every error homeage reports to a user. */
export abstract class HomeageError extends Error {
    /** The process exit status this error maps to. */
    abstract readonly exitCode: 1 | 2

    /** Each problem on its own line, when one run found several. */
    readonly problems: readonly string[]

    constructor(message: string, options?: { cause?: unknown, problems?: readonly string[] }) {
        super(message, options?.cause === undefined ? undefined : { cause: options.cause })
        this.problems = options?.problems ?? []
    }
}

/** A command line or config file that cannot be used as written; exit status 2. */
export class UsageError extends HomeageError {
    override readonly name = "UsageError"
    readonly exitCode = 2
}

/** An operation that was attempted and failed; exit status 1. */
export class OperationError extends HomeageError {
    override readonly name = "OperationError"
    readonly exitCode = 1
}

/** The message of any thrown value, for wrapping errors from libraries and the system. */
export function messageOf(err: unknown): string {
    if (err instanceof Error) return err.message
    return String(err)
}

/** The `code` of a Node.js system error (`ENOENT`, `EEXIST`, …), if it has one. */
export function errnoOf(err: unknown): string | undefined {
    if (typeof err === "object" && err !== null && "code" in err) {
        const code = err.code
        if (typeof code === "string") return code
    }
    return undefined
}
