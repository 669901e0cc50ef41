/**
 * Tells, from an age file's header alone (nothing is decrypted), whether the
 * file can still be encrypted to the recipients a secret declares, so that
 * `homeage check` can say when a rekey is due.
 *
 * The age format allows only a partial answer. An SSH stanza carries a 4-byte
 * tag of the recipient's public key, so SSH recipients are compared exactly.
 * X25519, post-quantum hybrid and tag stanzas carry only an ephemeral share, so
 * they can be counted and typed but not attributed to a recipient. A scrypt
 * stanza means the file is passphrase-encrypted. Two lists of the same length
 * and types but different X25519 keys therefore look the same here.
 */
import { OperationError, messageOf } from "../errors.js"
import { ARMOR_BEGIN, ARMOR_END } from "./armor.js"
import { decodeBase64 } from "./base64.js"
import { keyTag, parsePublicKeyLine } from "./ssh/public-key.js"

/** The first line of an age file. */
const VERSION_LINE = "age-encryption.org/v1"

/** The largest header read (1 MiB); real headers are a few hundred bytes per recipient. */
const MAX_HEADER_BYTES = 1024 * 1024

/** The kinds of stanza and recipient this module tells apart. */
export type RecipientKind =
    | "X25519"
    | "mlkem768x25519"
    | "p256tag"
    | "mlkem768p256tag"
    | "ssh-ed25519"
    | "ssh-rsa"
    | "scrypt"
    | "other"

/** How a kind is named in messages. */
const KIND_LABEL: Record<RecipientKind, string> = {
    "X25519": "X25519",
    "mlkem768x25519": "post-quantum (age1pq1…)",
    "p256tag": "tag (age1tag1…)",
    "mlkem768p256tag": "post-quantum tag (age1tagpq1…)",
    "ssh-ed25519": "ssh-ed25519",
    "ssh-rsa": "ssh-rsa",
    "scrypt": "passphrase (scrypt)",
    "other": "plugin or unknown",
}

/** One recipient stanza of an age header: its type and arguments, body not kept. */
export interface HeaderStanza {
    /** The stanza type, the first argument after `->`. */
    type: string
    /** The remaining arguments. */
    args: string[]
}

/** What {@link recipientMismatches} is given about one secret. */
export interface RecipientMatchInput {
    /** The secret's name, used in messages and in the suggested `homeage rekey NAME`. */
    name: string
    /** The source file as the user should read it, e.g. `secrets/gh.age`. */
    source: string
    /** The file's bytes, binary or ASCII-armored. */
    ciphertext: Uint8Array
    /** The recipients the secret declares, as written in the config. */
    recipients: string[]
}

/**
 * Whether an age file is ASCII-armored, judged the way age does: the armor
 * header after optional leading whitespace.
 */
export function isArmored(file: Uint8Array): boolean {
    const start = Buffer.from(file.subarray(0, ARMOR_BEGIN.length + 64)).toString("latin1")
    return start.trimStart().startsWith(ARMOR_BEGIN)
}

/**
 * Reads the recipient stanzas of an age file's header, binary or armored, without
 * decrypting anything and without checking the header MAC. Strict about the
 * shape (version line, `-> ` stanza lines, base64 body lines of at most 64
 * characters ending with a short line, the `--- ` MAC line) but not a full
 * validation: decryption does that. Throws an `Error` describing the first
 * problem.
 */
export function readHeaderStanzas(file: Uint8Array): HeaderStanza[] {
    const binary = isArmored(file) ? dearmor(file) : file
    const end = Math.min(binary.length, MAX_HEADER_BYTES)
    const text = Buffer.from(binary.subarray(0, end)).toString("latin1")
    const lines = text.split("\n")

    if (lines[0] !== VERSION_LINE) throw new Error("the first line is not " + VERSION_LINE)

    const stanzas: HeaderStanza[] = []
    let index = 1
    for (;;) {
        const line = lines[index]
        if (line === undefined || index === lines.length - 1) {
            throw new Error("the header ends before its MAC line")
        }
        if (line.startsWith("--- ")) return stanzas
        if (!line.startsWith("-> ")) throw new Error(`header line ${index + 1} is not a stanza`)

        const args = line.slice(3).split(" ")
        if (args.some((arg) => arg.length === 0)) {
            throw new Error(`header line ${index + 1} has an empty argument`)
        }
        index = skipBody(lines, index + 1)
        const [type = "", ...rest] = args
        // Grease stanzas (rage writes them) stand for no recipient.
        if (!type.endsWith("-grease")) stanzas.push({ type, args: rest })
    }
}

/** Characters on a full armor line: 48 bytes of base64. */
const ARMOR_COLUMNS = 64

/**
 * The binary file inside an armored one, for reading its header only. The
 * armor is checked line by line as age writes it (the BEGIN and END lines,
 * full 64-column lines of canonical padded base64, a shorter last one, LF or
 * CRLF, whitespace around), in one pass over a file already in memory;
 * age/armor.ts, which streams, is the strict reader that decryption uses.
 */
function dearmor(file: Uint8Array): Uint8Array {
    const lines = Buffer.from(file).toString("latin1").trim().split(/\r?\n/)
    if (lines[0] !== ARMOR_BEGIN) throw new Error(`the armor does not start with ${ARMOR_BEGIN}`)
    if (lines.length < 2 || lines[lines.length - 1] !== ARMOR_END) {
        throw new Error(`the armor does not end with ${ARMOR_END}`)
    }

    const body = lines.slice(1, -1)
    const pieces: Uint8Array[] = []
    for (const [i, line] of body.entries()) {
        const last = i === body.length - 1
        const bytes = decodeBase64(line, true)
        if (bytes === undefined || line.length === 0 || line.length > ARMOR_COLUMNS
            || (!last && line.length < ARMOR_COLUMNS)) {
            throw new Error(`armor line ${i + 2} is not a line of age armor`)
        }
        pieces.push(bytes)
    }
    return Buffer.concat(pieces)
}

/** Full body lines hold 48 bytes, 64 base64 characters. */
const BODY_LINE_CHARS = 64

const BASE64_NO_PAD = /^[A-Za-z0-9+/]*$/

function skipBody(lines: string[], first: number): number {
    for (let index = first; index < lines.length - 1; index++) {
        const line = lines[index] ?? ""
        if (!BASE64_NO_PAD.test(line) || line.length > BODY_LINE_CHARS) {
            throw new Error(`header line ${index + 1} is not a stanza body line`)
        }
        if (line.length < BODY_LINE_CHARS) return index + 1
    }
    throw new Error("the header ends inside a stanza body")
}

/** The kind of a stanza type; unknown types (plugins) are "other". */
export function stanzaKind(type: string): RecipientKind {
    switch (type) {
        case "X25519":
        case "mlkem768x25519":
        case "p256tag":
        case "mlkem768p256tag":
        case "ssh-ed25519":
        case "ssh-rsa":
        case "scrypt":
            return type
        default:
            return "other"
    }
}

/** The kind of a recipient as written in a config (`age1…`, `ssh-ed25519 AAAA…`, …). */
export function recipientKind(recipient: string): RecipientKind {
    const text = recipient.trim()
    if (text.startsWith("ssh-ed25519 ")) return "ssh-ed25519"
    if (text.startsWith("ssh-rsa ")) return "ssh-rsa"

    // Bech32: the human-readable part is everything before the last "1".
    const lower = text.toLowerCase()
    switch (lower.slice(0, lower.lastIndexOf("1"))) {
        case "age": return "X25519"
        case "age1pq": return "mlkem768x25519"
        case "age1tag": return "p256tag"
        case "age1tagpq": return "mlkem768p256tag"
        default: return "other"
    }
}

/**
 * The tag age writes in an SSH stanza for an `ssh-ed25519 …`/`ssh-rsa …` public
 * key line: the first 4 bytes of SHA-256 of the wire-format key, base64 without
 * padding. `undefined` when the line holds no usable SSH key.
 */
export function sshKeyTag(recipient: string): string | undefined {
    try {
        return keyTag(parsePublicKeyLine(recipient).wire)
    } catch {
        return undefined
    }
}

/**
 * Compares the stanzas of a secret's file with the recipients it declares and
 * returns one message per difference the format lets us see, each ending with
 * the `homeage rekey NAME` that fixes it; an empty list when nothing differs
 * visibly. SSH recipients are matched by key tag; other kinds by count per kind;
 * a passphrase-encrypted file is reported once. Equal counts of X25519 keys that
 * are different keys cannot be detected. Throws an `OperationError` naming the
 * file when its header cannot be read.
 */
export function recipientMismatches(input: RecipientMatchInput): string[] {
    const stanzas = parseOrThrow(input)
    const fix = `run \`homeage rekey ${input.name}\``
    const declares = `${input.name} declares`

    if (stanzas.some((s) => s.type === "scrypt")) {
        return [`${input.source} is encrypted with a passphrase but ${declares} recipients; ${fix}`]
    }

    const messages = compareSshTags(input, stanzas, fix)

    const counted: RecipientKind[] = [
        "X25519", "mlkem768x25519", "p256tag", "mlkem768p256tag", "other",
    ]
    for (const kind of counted) {
        const inFile = stanzas.filter((s) => stanzaKind(s.type) === kind).length
        const declared = input.recipients.filter((r) => recipientKind(r) === kind).length
        if (inFile === declared) continue

        messages.push(`${input.source} is encrypted to ${plural(inFile, KIND_LABEL[kind])}`
            + ` but ${declares} ${declared}; ${fix}`)
    }
    return messages
}

function parseOrThrow(input: RecipientMatchInput): HeaderStanza[] {
    try {
        return readHeaderStanzas(input.ciphertext)
    } catch (err) {
        throw new OperationError(
            `secret ${input.name}: ${input.source} is not a readable age file `
            + `(${messageOf(err)}); re-create it with \`homeage edit ${input.name}\``,
            { cause: err })
    }
}

function compareSshTags(
    input: RecipientMatchInput, stanzas: HeaderStanza[], fix: string,
): string[] {
    const messages: string[] = []
    const fileTags = new Set(stanzas
        .filter((s) => s.type === "ssh-ed25519" || s.type === "ssh-rsa")
        .map((s) => `${s.type} ${s.args[0] ?? ""}`))
    const declaredTags = new Set<string>()

    for (const recipient of input.recipients) {
        const kind = recipientKind(recipient)
        if (kind !== "ssh-ed25519" && kind !== "ssh-rsa") continue

        const tag = sshKeyTag(recipient)
        if (tag === undefined) continue
        declaredTags.add(`${kind} ${tag}`)
        if (fileTags.has(`${kind} ${tag}`)) continue

        messages.push(`${input.source} is not encrypted to the ${kind} key ${shortKey(recipient)}`
            + ` that ${input.name} declares; ${fix}`)
    }

    for (const tag of fileTags) {
        if (declaredTags.has(tag)) continue
        const [kind = "", value = ""] = tag.split(" ")
        messages.push(`${input.source} is also encrypted to an ${kind} key (tag ${value})`
            + ` that ${input.name} does not declare; ${fix}`)
    }
    return messages
}

/** A public key line shortened for messages: type, start of the key, and comment. */
function shortKey(recipient: string): string {
    const [, blob = "", ...comment] = recipient.trim().split(/\s+/)
    const tail = blob.length > 16 ? `…${blob.slice(-12)}` : blob
    return comment.length > 0 ? `${tail} (${comment.join(" ")})` : tail
}

function plural(count: number, label: string): string {
    return `${count} ${label} recipient${count === 1 ? "" : "s"}`
}
