/**
 * The `homeage` command line: declares every command and its flags, and loads
 * a command's implementation only when it runs.
 */
import { Command, CommanderError, Option } from "commander"

import { HomeageError, messageOf } from "../errors.js"
import { packageVersion } from "../package.js"
import type { CommandContext, CommandRun, GlobalOptions } from "./context.js"
import { Logger, wantsColor } from "./log.js"

/** Repeatable options: no default shown in help, an empty list when not given. */
const collect = (value: string, previous: string[] | undefined): string[] =>
    [...(previous ?? []), value]

const REPEATABLE = ["recipient", "recipientsFile", "identity"]

function withLists(options: Record<string, unknown>): Record<string, unknown> {
    const out = { ...options }
    for (const key of REPEATABLE) out[key] ??= []
    return out
}

/** The package version, read from package.json. */
export function version(): string {
    return packageVersion()
}

type Loader = () => Promise<{ run: CommandRun }>

/** Commands whose standard output is data, so log lines go to stderr. */
const DATA_COMMANDS = new Set(["encrypt", "decrypt", "keygen", "path"])

function declare(
    program: Command, holder: { run?: () => Promise<number> }, argv: readonly string[],
): void {
    const add = (spec: string, about: string, load: Loader): Command => {
        const cmd = program.command(spec).description(about)
        cmd.action(async (...params: unknown[]) => {
            const self = params[params.length - 1] as Command
            holder.run = async () => {
                const globals = program.opts<GlobalOptions>()
                const ctx = makeContext(globals, DATA_COMMANDS.has(self.name()), argv)
                const mod = await load()
                return mod.run(ctx, withLists(self.opts()), self.args)
            }
            await Promise.resolve()
        })
        return cmd
    }

    add("init", "write a starter homeage.toml and create an identity if none exists",
        () => import("./commands/init.js"))

    add("keygen", "generate a new identity, or print the recipient of one (-y)",
        () => import("./commands/keygen.js"))
        .argument("[FILE]", "with -y: the identity file (default: standard input)")
        .option("-o, --output <FILE>", "write the identity to FILE (mode 0600, never overwritten)")
        .option("--pq", "generate a post-quantum hybrid identity")
        .option("-y", "print the recipients of the identities in FILE")

    add("encrypt", "encrypt to recipients or with a passphrase, like age -e",
        () => import("./commands/encrypt.js"))
        .argument("[INPUT]", "file to encrypt (default: standard input)")
        .option("-r, --recipient <RECIPIENT>", "encrypt to RECIPIENT (repeatable)", collect)
        .option("-R, --recipients-file <FILE>", "encrypt to the recipients in FILE (repeatable)",
            collect)
        .option("-i, --identity <FILE>", "encrypt to the recipients of the identities in FILE",
            collect)
        .option("-p, --passphrase", "encrypt with a passphrase")
        .option("-a, --armor", "write ASCII armor")
        .option("-o, --output <OUTPUT>", "write to OUTPUT (default: standard output)")

    add("decrypt", "decrypt with identities or a passphrase, like age -d",
        () => import("./commands/decrypt.js"))
        .argument("[INPUT]", "file to decrypt (default: standard input)")
        .option("-i, --identity <FILE>", "decrypt with the identities in FILE (repeatable)",
            collect)
        .option("-o, --output <OUTPUT>", "write to OUTPUT (default: standard output)")

    add("edit", "edit a secret in a private folder and re-encrypt it if it changed",
        () => import("./commands/edit.js"))
        .argument("<NAME|FILE>", "a secret name from the config, or an .age file")
        .option("-r, --recipient <RECIPIENT>", "recipient for a file not in the config",
            collect)
        .option("-R, --recipients-file <FILE>", "recipients file for a file not in the config",
            collect)
        .option("-i, --identity <FILE>", "extra identity to decrypt with", collect)

    add("rekey", "re-encrypt secrets to their declared recipients, all or nothing",
        () => import("./commands/rekey.js"))
        .argument("[NAME...]", "secrets to rekey (default: all)")
        .option("--dry-run", "list what would change, change nothing")

    add("check", "run every activation check and change nothing",
        () => import("./commands/check.js"))

    add("activate", "make the machine match the config",
        () => import("./commands/activate.js"))
        .option("--dry-run", "show what would change, change nothing")
        .option("--backup <EXT>", "move an unmanaged file in the way to FILE.EXT")

    add("start", "decrypt the current generation into the runtime dir",
        () => import("./commands/start.js"))
        .argument("[NAME...]", "secrets to start (default: all)")

    add("stop", "remove the current generation's outputs",
        () => import("./commands/stop.js"))
        .argument("[NAME...]", "secrets to stop (default: all)")
        .addOption(new Option("--from-unit", "run by a secret's service unit").hideHelp())

    add("status", "show each secret's plaintext, symlinks and copies",
        () => import("./commands/status.js"))
        .argument("[NAME...]", "secrets to show (default: all)")
        .option("--json", "print JSON")

    add("path", "print the absolute path of a secret", () => import("./commands/path.js"))
        .argument("<NAME>", "the secret")

    add("generations", "list generations", () => import("./commands/generations.js"))

    add("rollback", "make an earlier generation current", () => import("./commands/rollback.js"))
        .argument("[N]", "generation number (default: the stored generation numbered just "
            + "below the current one; it becomes current even if its files are in place)")

    add("deactivate", "remove every output and service unit homeage made",
        () => import("./commands/deactivate.js"))
        .option("--purge", "also remove homeage's state")
}

function makeContext(
    globals: GlobalOptions, infoToStderr: boolean, argv: readonly string[],
): CommandContext {
    const verbosity = globals.quiet ? "quiet" : globals.verbose ? "verbose" : "normal"
    const color = wantsColor(globals.color === false)
    return { globals, argv, log: new Logger({ verbosity, color, infoToStderr }) }
}

function buildProgram(holder: { run?: () => Promise<number> }, argv: readonly string[]): Command {
    const program = new Command("homeage")
        .description("Declarative, age-encrypted secrets for your home directory")
        .version(version(), "-V, --version")
        .addOption(new Option("--config <FILE>", "config file (default: ./homeage.*, then " +
            "$XDG_CONFIG_HOME/homeage/homeage.*; * is toml, yaml, yml or json)")
            .env("HOMEAGE_CONFIG"))
        .option("-q, --quiet", "print nothing but errors")
        .option("-v, --verbose", "print details")
        .option("--no-color", "no colored output (also NO_COLOR)")
        .showHelpAfterError("(homeage --help lists the commands)")
        .exitOverride()
        .configureOutput({
            writeErr: (s) => process.stderr.write(s),
            outputError: (s, write) => { write(`homeage: ${s}`) },
            writeOut: (s) => process.stdout.write(s),
        })
    program.configureHelp({ showGlobalOptions: true })
    declare(program, holder, argv)
    for (const cmd of program.commands) {
        cmd.exitOverride()
        cmd.showHelpAfterError(`(homeage ${cmd.name()} --help lists its options)`)
    }
    return program
}

/**
 * Runs the CLI with `argv` (without the node and script paths) and returns
 * the exit status: 0 success, 1 an operation failed, 2 a usage or config error.
 */
export async function main(argv: string[]): Promise<number> {
    quietOnClosedPipes()
    const holder: { run?: () => Promise<number> } = {}
    const program = buildProgram(holder, argv)

    try {
        await program.parseAsync(argv, { from: "user" })
    } catch (err) {
        if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2
        throw err
    }
    if (holder.run === undefined) {
        program.outputHelp({ error: true })
        return 2
    }

    try {
        return await holder.run()
    } catch (err) {
        return report(err, program.opts<GlobalOptions>().color === false)
    }
}

/** Whether {@link quietOnClosedPipes} ran in this process (main may run more than once). */
let pipesQuieted = false

/**
 * A reader that stops early (`homeage status | head -1`) closes the pipe, and
 * the next write fails (EPIPE); output redirected to a full disk fails too.
 * The run goes on without its output rather than crash in the middle of a
 * switch: what it changes matters more than what it says (see also the
 * Logger). A command writing data (decrypt to standard output) still fails on
 * its own write, which it checks.
 */
function quietOnClosedPipes(): void {
    if (pipesQuieted) return
    pipesQuieted = true
    for (const stream of [process.stdout, process.stderr]) {
        stream.on("error", () => undefined)
    }
}

function report(err: unknown, noColor: boolean): number {
    const quietFree = new Logger({ verbosity: "normal", color: wantsColor(noColor) })
    if (err instanceof HomeageError) {
        quietFree.error(err.message)
        for (const problem of err.problems) process.stderr.write(`  ${problem}\n`)
        return err.exitCode
    }
    quietFree.error(`internal error: ${messageOf(err)}`)
    if (process.env.HOMEAGE_DEBUG) console.error(err)
    return 1
}
