/**
 * `homeage edit NAME|FILE`: decrypt a secret into a private folder on tmpfs,
 * let the user change it (in `$VISUAL`/`$EDITOR`, or from standard input when
 * it is not a terminal), and re-encrypt it to its recipients only if the
 * content changed. The old encrypted file is replaced by rename, so it survives
 * any failure; the plaintext folder is removed on every exit path.
 */
import { constants } from "node:fs"
import { mkdir, open, readFile, stat } from "node:fs/promises"
import { basename, dirname, join, resolve } from "node:path"

import { type PassphraseReader, type Recipient, decrypt, encrypt } from "../age/index.js"
import { isArmored, recipientMismatches } from "../age/recipient-match.js"
import type { Config, Environment } from "../config/index.js"
import { OperationError, UsageError, errnoOf } from "../errors.js"
import { fsReason } from "../fs/errno.js"
import { type EditFolder, makeEditFolder, removeStaleEditFolders } from "./edit-folder.js"
import { describeExit, editorCommand, readStandardInput, runEditor } from "./editor.js"
import { replaceFile, writeNew } from "./files.js"
import { Interrupts } from "./interrupts.js"
import { displayPath } from "./paths.js"
import { findSecret, loadOptionalConfig, loadRunIdentities } from "./project.js"
import { parseRecipients, recipientsFromFlags } from "./recipients.js"
import type { Reporter } from "./reporter.js"

/** Mode of the plaintext file handed to the editor: the user's alone. */
const PLAINTEXT_MODE = 0o600

/** Mode of a new encrypted file: ciphertext, fit for a shared dotfiles repository. */
const NEW_SOURCE_MODE = 0o644

/** Permission bits of a mode. */
const PERMISSION_BITS = 0o7777

/** What {@link editSecret} needs. */
export interface EditOptions {
    /** The secret's name in the config, or the path of an `.age` file. */
    target: string
    /** `-r` values: recipients for a file outside the config. */
    recipients: string[]
    /** `-R` files: recipients for a file outside the config. */
    recipientFiles: string[]
    /** `-i` files: identities tried besides the config's. */
    identities: string[]
    /** `--config FILE`, if given. */
    configFile: string | undefined
    cwd: string
    env: Environment
    /** The variables `$VISUAL` and `$EDITOR` are read from. */
    variables: NodeJS.ProcessEnv
    /** Whether standard input is a terminal: run the editor; else read the content from it. */
    interactive: boolean
    report: Reporter
    passphrase?: PassphraseReader | undefined
}

/** How an edit ended: content unchanged, re-encrypted, a new secret, or a new one left empty. */
export type EditOutcome = "unchanged" | "written" | "created" | "empty"

/** What {@link editSecret} did, for the caller's report. */
export interface EditResult {
    outcome: EditOutcome
    /** The secret as named in messages: `secret gh (secrets/gh.age)` or `secrets/x.age`. */
    label: string
    /** How many recipients it is encrypted to, when it was written. */
    recipients: number
}

/** The secret being edited, resolved from the command line and the config. */
interface EditTarget {
    /** How it is named in messages: `secret gh (secrets/gh.age)` or `secrets/x.age`. */
    label: string
    /** Absolute path of the encrypted file. */
    source: string
    /** The secret's name, when it is declared in the config. */
    name: string | undefined
    /**
     * The recipients the config declares for it, as written: the secret's, or the
     * top-level list for a file no secret declares; empty when -r/-R give them.
     */
    declared: string[]
    recipients: Recipient[]
}

/**
 * Edits one secret. Throws a `UsageError` (exit 2) for a target that cannot be
 * resolved or recipients that cannot be used, and an `OperationError` (exit 1)
 * when decryption, the editor (non-zero exit, killed), a signal (SIGINT,
 * SIGTERM, SIGHUP) or a write fails; in every such case the encrypted file is
 * byte-identical to before and no plaintext file remains. Empty content is
 * never written: a new secret left empty is outcome `empty`, and an existing
 * secret emptied is an `OperationError` (an empty or closed standard input must
 * not wipe a secret).
 */
export async function editSecret(options: EditOptions): Promise<EditResult> {
    const config = await loadOptionalConfig(
        { explicit: options.configFile, env: options.env, cwd: options.cwd })
    const target = await resolveTarget(options, config)
    const recipients = target.recipients

    const old = await readSource(target)
    let plaintext: Uint8Array | undefined
    if (old !== undefined) {
        const identities = await loadRunIdentities({
            config, env: options.env, extra: options.identities, report: options.report,
            passphrase: options.passphrase,
        })
        plaintext = await decrypt(old.bytes, identities, target.label)
    }

    const kept = old === undefined ? "nothing was written"
        : `${displayPath(target.source, options.cwd)} is unchanged`
    const edited = await changeContent(options, config, target, plaintext ?? new Uint8Array(),
        kept)
    const result = (outcome: EditOutcome): EditResult =>
        ({ outcome, label: target.label, recipients: recipients.length })

    if (plaintext !== undefined && Buffer.from(plaintext).equals(edited)) {
        warnIfRekeyDue(options, target, old?.bytes)
        return result("unchanged")
    }
    if (edited.length === 0) {
        if (old === undefined && options.interactive) return result("empty")
        // Empty input is far more often a missing stdin than a wish to empty a secret.
        const piped = options.interactive ? ""
            : " (read from standard input, which is not a terminal, so no editor was started)"
        const next = old === undefined
            ? "; pipe the content in, or run homeage edit in a terminal to use $EDITOR"
            : " (to remove the secret, delete its file and its config entry)"
        throw new OperationError(`the new content of ${target.label}${piped} is empty, so ` +
            `${kept}${next}`)
    }

    const ciphertext = await encrypt(edited, recipients, { armor: old?.armored ?? false })
    await refuseIfChangedMeanwhile(target, old?.bytes)
    await writeSource(target, ciphertext, old?.mode)
    return result(old === undefined ? "created" : "written")
}

/** The line the CLI prints for an edit's result. */
export function describeEdit(result: EditResult): string {
    const to = `encrypted to ${result.recipients} recipient${result.recipients === 1 ? "" : "s"}`
    switch (result.outcome) {
        case "unchanged": return `${result.label}: unchanged, nothing written`
        case "empty": return `${result.label}: new secret left empty, nothing written`
        case "created": return `${result.label}: created, ${to}`
        case "written": return `${result.label}: changed, re-${to}`
    }
}

async function resolveTarget(options: EditOptions, config: Config | undefined,
): Promise<EditTarget> {
    const flagsGiven = options.recipients.length > 0 || options.recipientFiles.length > 0
    const secret = findSecret(config, options.target, options.cwd)

    if (secret !== undefined) {
        if (flagsGiven) {
            throw new UsageError(`${secret.name} is declared in ${config?.file ?? "the config"}, `
                + "so it is encrypted to the recipients declared there; change them in the "
                + "config (then `homeage rekey`), not with -r/-R")
        }
        const label = `secret ${secret.name} (${displayPath(secret.source, options.cwd)})`
        const where = `${config?.file ?? "config"}: recipients of ${secret.name}`
        const sources = secret.recipients.map((text) => ({ text, where }))
        return {
            label, source: secret.source, name: secret.name, declared: secret.recipients,
            recipients: parseRecipients(sources, label),
        }
    }

    const source = resolve(options.cwd, options.target)
    const label = displayPath(source, options.cwd)
    if (!flagsGiven && config !== undefined && config.recipients.length > 0) {
        // A file no secret declares yet: the config's default recipients.
        const where = `${config.file}: recipients`
        return {
            label, source, name: undefined, declared: config.recipients,
            recipients: parseRecipients(config.recipients.map((text) => ({ text, where })),
                label),
        }
    }
    if (!flagsGiven) {
        const where = config === undefined ? "no config file was found"
            : `${config.file} declares no such secret and no top-level recipients`
        throw new UsageError(`${options.target} is neither a secret name nor the source of one `
            + `(${where}); name a declared secret, or give the recipients of this file with `
            + "-r RECIPIENT or -R FILE, or set `recipients` in the config")
    }
    return {
        label, source, name: undefined, declared: [],
        recipients: await recipientsFromFlags(options.recipients, options.recipientFiles, label),
    }
}

/** The current encrypted file, or `undefined` when it does not exist yet (a new secret). */
async function readSource(target: EditTarget,
): Promise<{ bytes: Uint8Array, armored: boolean, mode: number } | undefined> {
    try {
        const info = await stat(target.source)
        if (!info.isFile()) throw new UsageError(`${target.label} is not a regular file`)
        const bytes = await readFile(target.source)
        return { bytes, armored: isArmored(bytes), mode: info.mode & PERMISSION_BITS }
    } catch (err) {
        if (errnoOf(err) === "ENOENT") return undefined
        if (err instanceof UsageError) throw err
        throw new OperationError(`cannot read ${target.label}: ${fsReason(err, target.source)}`,
            { cause: err })
    }
}

/**
 * The new content: from the editor on a plaintext copy in a private folder, or
 * from standard input. Signals are caught from before the plaintext exists
 * until it is gone, so they end the edit through the same cleanup path.
 */
async function changeContent(
    options: EditOptions, config: Config | undefined, target: EditTarget, current: Uint8Array,
    kept: string,
): Promise<Uint8Array> {
    const interrupts = new Interrupts()
    const what = `the edit of ${target.label}`
    const bases = [config === undefined ? undefined : dirname(config.runtimeDir),
        options.env.XDG_RUNTIME_DIR]
    for (const stale of await removeStaleEditFolders(bases)) {
        options.report.detail(`removed ${stale}, left by an edit that was killed`)
    }
    try {
        if (!options.interactive) {
            return await interrupts.race(readStandardInput(what), what).catch((err: unknown) => {
                process.stdin.destroy()
                throw err
            })
        }

        const folder = await makeEditFolder({
            base: await runtimeBase(config, options.env),
            allowPersistent: config?.allowPersistentRuntimeDir ?? false,
            warn: (message) => { options.report.warn(message) },
        })
        try {
            return await editInFolder(options, target, current, folder, interrupts)
        } finally {
            await folder.remove()
        }
    } catch (err) {
        if (!(err instanceof OperationError)) throw err
        throw new OperationError(`${err.message}; ${kept}`,
            { cause: err, problems: err.problems })
    } finally {
        interrupts.dispose()
    }
}

async function editInFolder(
    options: EditOptions, target: EditTarget, current: Uint8Array, folder: EditFolder,
    interrupts: Interrupts,
): Promise<Uint8Array> {
    const what = `the edit of ${target.label}`
    const file = join(folder.path, plaintextName(target.source))
    await writeNew(file, current, PLAINTEXT_MODE)
    interrupts.throwIfInterrupted(what)

    const command = editorCommand(options.variables)
    options.report.detail(`editing ${target.label} with ${command}`)
    const exit = await runEditor(command, file, interrupts)
    interrupts.throwIfInterrupted(what)
    if (exit.code !== 0) {
        throw new OperationError(`the editor (${command}) ${describeExit(exit)}, so ${what} `
            + "was abandoned")
    }

    return readEditedFile(file, what)
}

/**
 * Reads what the editor left, never through a symlink: an editor (or anything
 * it ran) that replaced the file by a link to, say, /etc/shadow must not get
 * that file encrypted into the secret. Anything but a regular file is refused.
 */
async function readEditedFile(file: string, what: string): Promise<Uint8Array> {
    let handle
    try {
        handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW)
    } catch (err) {
        const why = errnoOf(err) === "ELOOP"
            ? "replaced the file with a symlink, which edit never follows"
            : `left no file to read (${fsReason(err, file)})`
        throw new OperationError(`the editor ${why}, so ${what} was abandoned`, { cause: err })
    }

    try {
        if (!(await handle.stat()).isFile()) {
            throw new OperationError("the editor left something other than a regular file, so "
                + `${what} was abandoned`)
        }
        return await handle.readFile()
    } finally {
        await handle.close()
    }
}

/** The plaintext's file name: the source's without `.age`, so editors pick the right mode. */
function plaintextName(source: string): string {
    const name = basename(source).replace(/\.age$/, "")
    return name === "" || name.startsWith(".") ? `secret${name}` : name
}

/**
 * The folder the edit folder goes in: the runtime dir's parent (the runtime dir
 * itself is activation's), else `$XDG_RUNTIME_DIR`; the first that exists.
 */
async function runtimeBase(config: Config | undefined, env: Environment): Promise<string> {
    const candidates = [
        config === undefined ? undefined : dirname(config.runtimeDir),
        env.XDG_RUNTIME_DIR,
    ].filter((path): path is string => path !== undefined)

    for (const path of candidates) {
        const present = await stat(path).then(() => true, () => false)
        if (present) return path
    }
    if (candidates[0] !== undefined) return candidates[0]
    throw new UsageError("$XDG_RUNTIME_DIR is not set, and edit keeps plaintext only on tmpfs; "
        + "set it to a folder of yours on tmpfs (such as /run/user/$UID), or pass the content "
        + "on standard input")
}

/**
 * Refuses to write when the encrypted file changed (or appeared) while the user
 * edited, for example by a `git pull`: replacing it would silently drop that
 * change.
 */
async function refuseIfChangedMeanwhile(target: EditTarget, old: Uint8Array | undefined,
): Promise<void> {
    const now = await readFile(target.source).catch((err: unknown) => {
        if (errnoOf(err) === "ENOENT") return undefined
        throw new OperationError(`cannot read ${target.label}: ${fsReason(err, target.source)}`,
            { cause: err })
    })
    const same = now === undefined ? old === undefined
        : old !== undefined && Buffer.from(old).equals(now)
    if (same) return
    throw new OperationError(`${target.label} changed on disk while it was being edited; `
        + "nothing was written (run the edit again on the new version)")
}

async function writeSource(target: EditTarget, ciphertext: Uint8Array, mode: number | undefined,
): Promise<void> {
    try {
        await mkdir(dirname(target.source), { recursive: true })
        await replaceFile(target.source, ciphertext, mode ?? NEW_SOURCE_MODE)
    } catch (err) {
        throw new OperationError(`cannot write ${target.label}: `
            + `${fsReason(err, target.source)}; the old file is unchanged`, { cause: err })
    }
}

/** After an unchanged edit, says when the file's stanzas show a rekey is due. */
function warnIfRekeyDue(options: EditOptions, target: EditTarget, old: Uint8Array | undefined,
): void {
    if (target.name === undefined || old === undefined) return
    const messages = recipientMismatches({
        name: target.name, source: displayPath(target.source, options.cwd), ciphertext: old,
        recipients: target.declared,
    })
    for (const message of messages) options.report.warn(message)
}
