/**
 * Recipients: `age1…` (X25519), `age1pq1…` (post-quantum hybrid),
 * `ssh-ed25519 …` and `ssh-rsa …` public keys, one at a time or from a
 * recipients file.
 */
import { readFile } from "node:fs/promises"

import { HomeageError, UsageError, errnoOf, messageOf } from "../errors.js"
import { fileReason } from "./file-errors.js"
import { nativeIdentityType, nativeRecipient } from "./native.js"
import { isSshPublicKeyLine, parseSshRecipient } from "./ssh/index.js"
import type { Recipient } from "./types.js"

/** Largest recipients file read (16 MiB). */
const MAX_RECIPIENTS_FILE_BYTES = 16 * 1024 * 1024

const UTF8_BOM = "\uFEFF"

/** Bech32 human-readable parts of the native recipient types we encrypt to. */
const NATIVE_PREFIXES = new Set(["age", "age1pq"])

/**
 * Parses one recipient: `age1…`, `age1pq1…`, `ssh-ed25519 …` or `ssh-rsa …`.
 * Throws a `UsageError` naming `where` (a file and line, or a config key);
 * the text itself is never echoed, in case it is a secret key pasted by
 * mistake.
 */
export function parseRecipient(text: string, where: string): Recipient {
    if (text.startsWith("age1")) {
        const prefix = text.toLowerCase().slice(0, text.lastIndexOf("1"))
        if (!NATIVE_PREFIXES.has(prefix)) {
            throw new UsageError(`${where}: recipients of type ${prefix.slice(0, 24)} (age`
                + " plugins and tags) are not supported; use an age1…, age1pq1… or SSH key")
        }
        try {
            return nativeRecipient(text)
        } catch {
            throw new UsageError(`${where}: invalid recipient (bad age1… encoding or checksum);`
                + " copy it again from `homeage keygen -y`")
        }
    }

    if (isSshPublicKeyLine(text)) {
        try {
            return parseSshRecipient(text)
        } catch (err) {
            throw new UsageError(`${where}: ${messageOf(err)}`, { cause: err })
        }
    }

    if (nativeIdentityType(text) !== undefined) {
        throw new UsageError(`${where}: this is an identity (a secret key), not a recipient;`
            + " use its public key, which `homeage keygen -y FILE` prints")
    }
    if (text.includes("PRIVATE KEY")) {
        throw new UsageError(`${where}: this is a private key, not a recipient; use the public`
            + " key (the .pub file)")
    }
    throw new UsageError(`${where}: not a recipient (expected age1…, age1pq1…, ssh-ed25519 …`
        + " or ssh-rsa …)")
}

/**
 * Reads a recipients file (as `age -R`): one recipient per line, `#` comments
 * and blank lines skipped, CRLF and a UTF-8 byte-order mark accepted. Throws a
 * `UsageError` naming the file and line of the first bad line (never its
 * text), or when the file is missing, unreadable or holds no recipient.
 */
export async function parseRecipientsFile(file: string): Promise<Recipient[]> {
    let text: string
    try {
        const bytes = await readFile(file)
        if (bytes.length > MAX_RECIPIENTS_FILE_BYTES) {
            throw new UsageError(`${file}: too large for a recipients file`)
        }
        text = bytes.toString("utf8")
    } catch (err) {
        if (err instanceof HomeageError) throw err
        const reason = errnoOf(err) === "ENOENT"
            ? "no such recipients file"
            : `cannot read: ${fileReason(err, file, "read")}`
        throw new UsageError(`${file}: ${reason}`, { cause: err })
    }

    const recipients = parseRecipientLines(text, file)
    if (recipients.length === 0) throw new UsageError(`${file}: no recipients in this file`)
    return recipients
}

/** Parses the text of a recipients file; see {@link parseRecipientsFile}. */
export function parseRecipientLines(text: string, file: string): Recipient[] {
    const body = text.startsWith(UTF8_BOM) ? text.slice(UTF8_BOM.length) : text
    const recipients: Recipient[] = []
    for (const [index, raw] of body.split("\n").entries()) {
        const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw
        if (line.trim() === "" || line.startsWith("#")) continue
        recipients.push(parseRecipient(line, `${file}:${index + 1}`))
    }
    return recipients
}
