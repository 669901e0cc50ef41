import type { Logger } from "./log.js"

/** Options every command accepts (SPEC §4). */
export interface GlobalOptions {
    config?: string
    quiet?: boolean
    verbose?: boolean
    color?: boolean
}

/** What a command implementation is given besides its own options and arguments. */
export interface CommandContext {
    log: Logger
    globals: GlobalOptions
    /** The command line as given (without the node and script paths). */
    argv: readonly string[]
}

/**
 * A command implementation, loaded only when its command runs so that start-up
 * stays cheap. Returns the process exit status.
 */
export type CommandRun = (
    ctx: CommandContext,
    options: Record<string, unknown>,
    args: string[],
) => Promise<number>
