/**
 * Identity files and the set of identities one run decrypts with: age keys
 * (X25519 and post-quantum, several per file), SSH private keys, and
 * passphrase-encrypted identity files. Identities that need no passphrase are
 * tried first; a passphrase is asked for only when a file is not opened
 * without one, and at most once per key per run.
 */
import { readFile, stat } from "node:fs/promises"

import { HomeageError, OperationError, UsageError, errnoOf, messageOf } from "../errors.js"
import { decrypt } from "./decrypt.js"
import { FormatProblem } from "./failure.js"
import { fileReason } from "./file-errors.js"
import type { Stanza } from "./format.js"
import {
    nativeIdentity, nativeIdentityType, nativeRecipient, nativeRecipientLine,
} from "./native.js"
import type { NativeKeyType } from "./native.js"
import { AskpassError, NO_PASSPHRASE_SOURCE, readPassphrase } from "./passphrase.js"
import { SCRYPT_STANZA_TYPE, ScryptIdentity, checkScryptStanza } from "./scrypt.js"
import {
    isSshPublicKeyLine, loadSshIdentity, looksLikeSshPrivateKey, parseSshRecipient,
} from "./ssh/index.js"
import type { SshIdentity } from "./ssh/index.js"
import type { Identity, PassphraseReader, Recipient } from "./types.js"

/** Largest identity file read (1 MiB); real ones are well under 10 KiB. */
const MAX_IDENTITY_FILE_BYTES = 1024 * 1024

/** How identities are given, said in a message when none matched, unless a caller says. */
const DEFAULT_IDENTITY_HINT = "-i FILE or identityPaths"

/** Permission bits that let the group or others read a file. */
const READABLE_BY_OTHERS = 0o044

const UTF8_BOM = "\uFEFF"

/** Options for {@link loadIdentities}. */
export interface LoadIdentitiesOptions {
    /** Called for each unusable identity file (missing, unreadable, unsupported key type). */
    warn: (message: string) => void
    /**
     * Reads a passphrase for a protected SSH key, a passphrase-encrypted
     * identity file or a passphrase-encrypted file, only when one is needed.
     * Default: `HOMEAGE_ASKPASS`, else the terminal.
     */
    passphrase?: PassphraseReader
    /**
     * Whether passphrase-encrypted (scrypt) files may be decrypted by asking
     * for their passphrase. Default: only when `paths` is empty, as age does
     * (a run given identities is not expected to prompt for a file passphrase).
     */
    passphraseFiles?: boolean
    /**
     * Whether a non-empty `paths` with no usable identity is an error
     * (default) or only warnings and an empty set.
     */
    required?: boolean
    /**
     * How the user gives identities to this caller, for the advice when none
     * matched: `-i FILE` for `homeage decrypt`, `identityPaths` for activation.
     * Default: `-i FILE or identityPaths`.
     */
    identityHint?: string
}

/**
 * The identities of one run, in the order they are tried: those needing no
 * passphrase first. Passphrase-protected ones are unlocked at most once per run,
 * and only when a file has a stanza that no other identity opens.
 */
export interface IdentitySet {
    /** How many usable identity files were loaded. */
    readonly size: number
    /** One line per identity file, for `-v` output: file and key type, never key material. */
    describe(): string[]
}

/** One line of an age identity file that holds a key. */
export interface IdentityLine {
    type: NativeKeyType
    /** The `AGE-SECRET-KEY-…` text. Secret: never print it. */
    key: string
    lineNumber: number
}

/** A loaded identity file. */
interface Entry {
    readonly file: string
    readonly needsPassphrase: boolean
    /** Why this file was skipped during this run (its passphrase not given); else undefined. */
    readonly skipReason: string | undefined
    describe(): string
    /** The identities to try, unlocking them first if needed; empty when skipped. */
    identities(): Promise<Identity[]>
    /** The recipient strings (`age1…`, `ssh-… AAAA…`) of this file's identities. */
    recipientLines(): Promise<string[]>
}

/**
 * Parses the text of an age identity file: `AGE-SECRET-KEY-1…` and
 * `AGE-SECRET-KEY-PQ-1…` lines, `#` comments, blank lines, CRLF line ends and a
 * UTF-8 byte-order mark. Throws a `UsageError` naming `file` and the line
 * number, never echoing the line: for a recipient or an SSH public key given as
 * an identity, any other text, an invalid key, or a file with no key.
 */
export function parseIdentityFile(text: string, file: string): IdentityLine[] {
    const body = text.startsWith(UTF8_BOM) ? text.slice(UTF8_BOM.length) : text
    const keys: IdentityLine[] = []

    const lines = body.split("\n")
    for (const [index, raw] of lines.entries()) {
        const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw
        const where = `${file}:${index + 1}`
        if (line.trim() === "" || line.startsWith("#")) continue

        const type = nativeIdentityType(line)
        if (type === undefined) throw new UsageError(`${where}: ${notAnIdentity(line)}`)
        try {
            nativeIdentity(line)
        } catch {
            throw new UsageError(`${where}: malformed ${type} identity (bad encoding or`
                + " checksum); restore the file from a backup or create a new key")
        }
        keys.push({ type, key: line, lineNumber: index + 1 })
    }

    if (keys.length === 0) {
        throw new UsageError(`${file}: no identity in this file (expected AGE-SECRET-KEY-1… lines)`)
    }
    return keys
}

function notAnIdentity(line: string): string {
    if (line.startsWith("age1")) {
        return "this is a recipient (a public key), not an identity; an identity file"
            + " holds the AGE-SECRET-KEY-1… line that `homeage keygen` writes"
    }
    if (isSshPublicKeyLine(line)) {
        return "this is an SSH public key, not an identity; give the private key file"
            + " (for example ~/.ssh/id_ed25519, not id_ed25519.pub)"
    }
    return "not an identity line (expected AGE-SECRET-KEY-1…, a # comment or a blank line)"
}

/**
 * Loads identity files: age identity files (X25519, post-quantum), passphrase-
 * encrypted identity files and SSH private keys. A file that cannot be used is
 * passed to `options.warn` and skipped. When `paths` is not empty and no file
 * is usable, throws a `UsageError` (exit 2: the identities given or configured
 * must be fixed) listing each file's problem, unless `options.required` is
 * false.
 */
export async function loadIdentities(
    paths: string[], options: LoadIdentitiesOptions,
): Promise<IdentitySet> {
    const passphrase = oneAtATime(options.passphrase ?? readPassphrase)
    const entries: Entry[] = []
    const failures: HomeageError[] = []
    const unusable: Skipped[] = []
    const notes: string[] = []

    for (const file of paths) {
        try {
            const loaded = await loadFile(file, passphrase, options.warn)
            entries.push(loaded.entry)
            notes.push(...loaded.notes)
        } catch (err) {
            if (!(err instanceof HomeageError)) throw err
            failures.push(err)
            unusable.push({ file, reason: withoutFile(err.message, file) })
        }
    }

    if (paths.length > 0 && entries.length === 0 && options.required !== false) {
        const problems = failures.map((f) => f.message)
        if (failures.length === 1 && failures[0] !== undefined) throw failures[0]
        throw new UsageError(`no usable identity among ${paths.length === 1 ? "the file" : "the"
        } ${plural(paths.length, "identity file")} given; fix or replace ${
            paths.length === 1 ? "it" : "them"}`, { problems })
    }
    for (const failure of failures) options.warn(`${failure.message}; skipped`)
    for (const note of notes) options.warn(note)

    const passphraseFiles = options.passphraseFiles ?? paths.length === 0
    return new LoadedIdentities(entries, passphrase, passphraseFiles, {
        unusable, hint: options.identityHint ?? DEFAULT_IDENTITY_HINT,
    })
}

/**
 * `reader`, asking one question at a time: files decrypted side by side may
 * need two protected keys at once, and two prompts must not share the
 * terminal. Each key still asks once (its unlocking is shared, see Entry).
 */
function oneAtATime(reader: PassphraseReader): PassphraseReader {
    let previous: Promise<unknown> = Promise.resolve()
    return (prompt) => {
        const answer = previous.then(() => reader(prompt))
        previous = answer.catch(() => undefined)
        return answer
    }
}

/** An identity file not used in this run, and why. */
interface Skipped {
    file: string
    reason: string
}

/**
 * A message about `file` without the file name it starts with, for a list
 * that names the file itself: `F:3: not an identity line` becomes `line 3:
 * not an identity line`.
 */
function withoutFile(message: string, file: string): string {
    if (!message.startsWith(`${file}:`)) return message
    const rest = message.slice(file.length + 1)
    const line = /^(\d+): /.exec(rest)
    if (line?.[1] !== undefined) return `line ${line[1]}: ${rest.slice(line[0].length)}`
    return rest.trimStart()
}

async function loadFile(
    file: string, passphrase: PassphraseReader, warn: (m: string) => void,
): Promise<{ entry: Entry, notes: string[] }> {
    const bytes = await readIdentityBytes(file)
    const notes: string[] = []

    const mode = (await stat(file)).mode
    if (!isAgeFile(bytes) && (mode & READABLE_BY_OTHERS) !== 0) {
        notes.push(`${file} is readable by other users; run \`chmod 600 ${file}\``)
    }

    const publicKeyText = await readFile(`${file}.pub`, "utf8").catch(() => undefined)
    return { entry: entryFromBytes(file, bytes, passphrase, warn, publicKeyText), notes }
}

function entryFromBytes(
    file: string,
    bytes: Uint8Array,
    passphrase: PassphraseReader,
    warn: (m: string) => void,
    publicKeyText: string | undefined,
): Entry {
    if (isAgeFile(bytes)) return new EncryptedIdentityFile(file, bytes, passphrase, warn)

    const text = Buffer.from(bytes).toString("utf8")
    if (looksLikeSshPrivateKey(text)) {
        try {
            const identity = loadSshIdentity(text, file, { passphrase, warn, publicKeyText })
            return new SshEntry(identity)
        } catch (err) {
            if (err instanceof HomeageError) throw err
            throw new UsageError(`${file}: ${messageOf(err)}`, { cause: err })
        }
    }

    return new AgeKeysEntry(file, parseIdentityFile(text, file))
}

/**
 * Loads identities from bytes already read, such as standard input for
 * `keygen -y`; `name` stands for the file in messages. Throws a `UsageError`
 * when the content is not usable.
 */
export function identitiesFromBytes(
    bytes: Uint8Array, name: string, options: LoadIdentitiesOptions,
): IdentitySet {
    const passphrase = oneAtATime(options.passphrase ?? readPassphrase)
    const entry = entryFromBytes(name, bytes, passphrase, options.warn, undefined)
    return new LoadedIdentities([entry], passphrase, options.passphraseFiles ?? false, {
        hint: options.identityHint ?? DEFAULT_IDENTITY_HINT,
    })
}

async function readIdentityBytes(file: string): Promise<Uint8Array> {
    try {
        const info = await stat(file)
        if (!info.isFile()) throw new UsageError(`${file}: not a regular file`)
        if (info.size > MAX_IDENTITY_FILE_BYTES) {
            throw new UsageError(`${file}: too large for an identity file`)
        }
        return await readFile(file)
    } catch (err) {
        if (err instanceof HomeageError) throw err
        if (errnoOf(err) === "ENOENT") {
            throw new UsageError(`${file}: no such identity file`, { cause: err })
        }
        throw new UsageError(`${file}: cannot read: ${fileReason(err, file, "read")}`,
            { cause: err })
    }
}

function isAgeFile(bytes: Uint8Array): boolean {
    const start = Buffer.from(bytes.subarray(0, 1100)).toString("latin1")
    return start.startsWith("age-encryption.org/")
        || start.trimStart().startsWith("-----BEGIN AGE ENCRYPTED FILE-----")
}

class AgeKeysEntry implements Entry {
    readonly needsPassphrase = false
    readonly skipReason = undefined
    private readonly loaded: Identity[]

    constructor(readonly file: string, private readonly keys: IdentityLine[]) {
        this.loaded = keys.map((k) => nativeIdentity(k.key))
    }

    describe(): string {
        const counts = new Map<string, number>()
        for (const key of this.keys) counts.set(key.type, (counts.get(key.type) ?? 0) + 1)
        const parts = [...counts].map(([type, n]) =>
            plural(n, `${type} identity`, `${type} identities`))
        return `${this.file}: ${parts.join(", ")}`
    }

    identities(): Promise<Identity[]> {
        return Promise.resolve(this.loaded)
    }

    recipientLines(): Promise<string[]> {
        return Promise.all(this.keys.map((k) => nativeRecipientLine(k.key)))
    }
}

class SshEntry implements Entry {
    constructor(private readonly identity: SshIdentity) {}

    get file(): string {
        return this.identity.file
    }

    get needsPassphrase(): boolean {
        return this.identity.needsPassphrase
    }

    get skipReason(): string | undefined {
        return this.identity.skipReason
    }

    describe(): string {
        const protectedKey = this.identity.needsPassphrase ? ", passphrase-protected" : ""
        return `${this.file}: ${this.identity.keyType} SSH key${protectedKey}`
    }

    identities(): Promise<Identity[]> {
        return Promise.resolve([this.identity])
    }

    recipientLines(): Promise<string[]> {
        return Promise.resolve([this.identity.publicKey])
    }
}

/**
 * An age file, encrypted with a passphrase, holding identity lines (as `age -p`
 * makes of an identity file). Unlocked on first need, once per run.
 */
class EncryptedIdentityFile implements Entry {
    readonly needsPassphrase = true
    skipReason: string | undefined
    private unlocked: Promise<AgeKeysEntry | undefined> | undefined

    constructor(
        readonly file: string,
        private readonly ciphertext: Uint8Array,
        private readonly passphrase: PassphraseReader,
        private readonly warn: (message: string) => void,
    ) {}

    describe(): string {
        return `${this.file}: passphrase-encrypted identity file`
    }

    async identities(): Promise<Identity[]> {
        return (await this.unlock())?.identities() ?? []
    }

    async recipientLines(): Promise<string[]> {
        const inner = await this.unlock()
        if (inner === undefined) {
            throw new OperationError(`${this.file}: passphrase-encrypted identity file not`
                + " unlocked; give its passphrase to use it")
        }
        return inner.recipientLines()
    }

    /** The identity tried during decryption: unlocks the file only when reached. */
    lazyIdentity(): Identity {
        return {
            unwrapFileKey: async (stanzas: Stanza[]) => {
                if (stanzas.every((s) => s.args[0] === SCRYPT_STANZA_TYPE)) return null
                for (const identity of await this.identities()) {
                    const key = await identity.unwrapFileKey(stanzas)
                    if (key !== null) return key
                }
                return null
            },
        }
    }

    private unlock(): Promise<AgeKeysEntry | undefined> {
        this.unlocked ??= this.open()
        return this.unlocked
    }

    private async open(): Promise<AgeKeysEntry | undefined> {
        let answer: string | undefined
        try {
            answer = await this.passphrase(`Enter passphrase for identity file ${this.file}: `)
        } catch (err) {
            if (!(err instanceof AskpassError)) throw err
            this.skip(err.detail, err.message)
            return undefined
        }
        if (answer === undefined) {
            this.skip(NO_PASSPHRASE_SOURCE, NO_PASSPHRASE_SOURCE)
            return undefined
        }

        const known = answer
        const set = new LoadedIdentities([], () => Promise.resolve(known), true, {
            hint: DEFAULT_IDENTITY_HINT,
        })
        let plaintext: Uint8Array
        try {
            plaintext = await decrypt(this.ciphertext, set, `identity file ${this.file}`)
        } catch (err) {
            const wrong = err instanceof HomeageError && "kind" in err && err.kind === "no-match"
            const reason = wrong ? "incorrect passphrase for this identity file" : messageOf(err)
            this.skip(reason, reason)
            return undefined
        }
        const text = Buffer.from(plaintext).toString("utf8")
        return new AgeKeysEntry(this.file, parseIdentityFile(text, this.file))
    }

    /** Skips this file for the rest of the run, saying why once. */
    private skip(reason: string, message: string): void {
        this.skipReason = reason
        this.warn(`${this.file}: skipped this passphrase-encrypted identity file: ${message}`)
    }
}

/** What a {@link LoadedIdentities} says when no identity matched. */
interface NoMatchContext {
    /** Identity files given but not loaded, and why. */
    unusable?: Skipped[]
    /** How the user gives identities, such as `-i FILE`. */
    hint: string
}

/** The implementation behind {@link IdentitySet}. */
export class LoadedIdentities implements IdentitySet {
    private readonly passphrases: string[]
    private scryptTurn: Promise<void> = Promise.resolve()

    constructor(
        private readonly entries: Entry[],
        private readonly passphrase: PassphraseReader,
        private readonly passphraseFiles: boolean,
        private readonly context: NoMatchContext,
        known: string[] = [],
    ) {
        this.passphrases = [...known]
    }

    get size(): number {
        return this.entries.length
    }

    describe(): string[] {
        return this.entries.map((e) => e.describe())
    }

    /** The recipient strings of every identity, for `encrypt -i` and `keygen -y`. */
    async recipientLines(): Promise<string[]> {
        const lines: string[] = []
        for (const entry of this.entries) lines.push(...await entry.recipientLines())
        return lines
    }

    /** The recipients of every identity, for `encrypt -i`. */
    async recipients(): Promise<Recipient[]> {
        const lines = await this.recipientLines()
        return lines.map((l) => l.startsWith("age1") ? nativeRecipient(l) : parseSshRecipient(l))
    }

    /**
     * Unwraps the file key from a header's stanzas: passphrase files by asking
     * (when allowed), else each identity in order. Throws a
     * {@link FormatProblem}: `header` for a stanza an identity finds invalid,
     * `no-match` when none opens the file.
     */
    async unwrap(stanzas: Stanza[], what: string): Promise<Uint8Array> {
        const scrypt = stanzas.find((s) => s.args[0] === SCRYPT_STANZA_TYPE)
        if (scrypt !== undefined) return this.unwrapScrypt(scrypt, stanzas, what)

        const ordered = [
            ...this.entries.filter((e) => !e.needsPassphrase),
            ...this.entries.filter((e) => e.needsPassphrase),
        ]
        for (const entry of ordered) {
            const identities = entry instanceof EncryptedIdentityFile
                ? [entry.lazyIdentity()]
                : await entry.identities()
            for (const identity of identities) {
                const key = await tryIdentity(identity, stanzas, entry.file)
                if (key !== null) return key
            }
        }
        throw new FormatProblem("no-match", this.noMatch(stanzas))
    }

    private async unwrapScrypt(
        scrypt: Stanza, stanzas: Stanza[], what: string,
    ): Promise<Uint8Array> {
        try {
            checkScryptStanza(scrypt)
        } catch (err) {
            throw new FormatProblem("header", messageOf(err), { cause: err })
        }
        if (!this.passphraseFiles) {
            throw new FormatProblem("no-match", "it is encrypted with a passphrase, not to an"
                + " identity; decrypt it without -i (or identities) to be asked for the passphrase")
        }

        // One file at a time from here: a file decrypted beside another tries
        // the passphrase the other was given before asking for its own.
        const turn = this.scryptTurn.then(() => this.unwrapWithPassphrase(stanzas, what))
        this.scryptTurn = turn.then(() => undefined, () => undefined)
        return turn
    }

    private async unwrapWithPassphrase(stanzas: Stanza[], what: string): Promise<Uint8Array> {
        for (const known of this.passphrases) {
            const key = await tryIdentity(new ScryptIdentity(known), stanzas, "passphrase")
            if (key !== null) return key
        }
        const answer = await this.askFilePassphrase(what)
        if (answer === undefined && this.passphrases.length > 0) {
            throw new FormatProblem("no-match", "incorrect passphrase")
        }
        if (answer === undefined) {
            throw new FormatProblem("no-match", "it is encrypted with a passphrase, and there is"
                + " no terminal to ask for it; set HOMEAGE_ASKPASS to a program that prints it")
        }
        const key = await tryIdentity(new ScryptIdentity(answer), stanzas, "passphrase")
        if (key === null) throw new FormatProblem("no-match", "incorrect passphrase")
        this.passphrases.push(answer)
        return key
    }

    private async askFilePassphrase(what: string): Promise<string | undefined> {
        try {
            return await this.passphrase(`Enter passphrase for ${what}: `)
        } catch (err) {
            if (!(err instanceof AskpassError)) throw err
            throw new FormatProblem("no-match", "it is encrypted with a passphrase, and"
                + ` ${err.message}`, { cause: err })
        }
    }

    private noMatch(stanzas: Stanza[]): string {
        const types = new Map<string, number>()
        for (const stanza of stanzas) {
            const type = stanza.args[0] ?? "?"
            if (type.endsWith("-grease")) continue
            types.set(type, (types.get(type) ?? 0) + 1)
        }
        const forWhom = [...types]
            .map(([type, n]) => plural(n, `${type} recipient`)).join(", ")
        return `no identity matched: it is encrypted to ${forWhom || "no recipient"};`
            + ` ${this.triedAndSkipped()}. Give the identity it was encrypted to`
            + ` (${this.context.hint}), or re-encrypt it to one of yours`
    }

    /** Which identity files were tried, and which were skipped and why. */
    private triedAndSkipped(): string {
        const skipped: Skipped[] = [...this.context.unusable ?? []]
        const tried: string[] = []
        for (const entry of this.entries) {
            if (entry.skipReason === undefined) tried.push(entry.file)
            else skipped.push({ file: entry.file, reason: entry.skipReason })
        }
        if (tried.length === 0 && skipped.length === 0) return "no identity file was given"

        const parts = [`identity files tried: ${tried.length > 0 ? tried.join(", ") : "none"}`]
        if (skipped.length > 0) {
            parts.push(`skipped: ${skipped.map((s) => `${s.file} (${s.reason})`).join(", ")}`)
        }
        return parts.join("; ")
    }
}

async function tryIdentity(
    identity: Identity, stanzas: Stanza[], source: string,
): Promise<Uint8Array | null> {
    try {
        return await identity.unwrapFileKey(stanzas)
    } catch (err) {
        if (err instanceof HomeageError) throw err
        throw new FormatProblem("header",
            `a recipient stanza for ${source} is invalid: ${messageOf(err)}`, { cause: err })
    }
}

/** The implementation of an {@link IdentitySet} made by {@link loadIdentities}. */
export function loadedIdentities(set: IdentitySet): LoadedIdentities {
    if (!(set instanceof LoadedIdentities)) {
        throw new TypeError("identities must come from loadIdentities()")
    }
    return set
}

/**
 * An identity set holding only passphrases, for decrypting passphrase-encrypted
 * files without prompting (tests, scripts): each passphrase is tried in turn.
 */
export function passphraseIdentities(passphrases: string[]): IdentitySet {
    return new LoadedIdentities([], () => Promise.resolve(undefined), true,
        { hint: DEFAULT_IDENTITY_HINT }, passphrases)
}

function plural(count: number, singular: string, many = `${singular}s`): string {
    return `${count} ${count === 1 ? singular : many}`
}
