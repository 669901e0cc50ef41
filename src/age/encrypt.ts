/**
 * Encrypting to age: binary or armored, in memory or streamed, so a large
 * file never needs to be held whole.
 */
import { randomBytes } from "node:crypto"

import { UsageError } from "../errors.js"
import { ArmorEncoder } from "./armor.js"
import { FILE_KEY_BYTES, encodeHeader } from "./format.js"
import type { Stanza } from "./format.js"
import { bytesSource } from "./reader.js"
import type { ByteSource } from "./reader.js"
import { SCRYPT_STANZA_TYPE } from "./scrypt.js"
import { encryptPayload } from "./stream.js"
import type { ChunkSink } from "./stream.js"
import type { Recipient } from "./types.js"

/** Options for {@link encrypt} and {@link encryptStream}. */
export interface EncryptOptions {
    /** Write ASCII armor (`-----BEGIN AGE ENCRYPTED FILE-----`) instead of binary. */
    armor?: boolean
}

/**
 * Encrypts the plaintext read from `source` to `recipients` (already parsed),
 * handing the age file to `sink` piece by piece. Throws a `UsageError` when
 * there is no recipient, or a passphrase recipient is not the only one.
 */
export async function encryptStream(
    source: ByteSource, recipients: Recipient[], options: EncryptOptions, sink: ChunkSink,
): Promise<void> {
    if (recipients.length === 0) throw new UsageError("no recipients to encrypt to")

    const fileKey = randomBytes(FILE_KEY_BYTES)
    const stanzas: Stanza[] = []
    for (const recipient of recipients) stanzas.push(...await recipient.wrapFileKey(fileKey))
    if (stanzas.length > 1 && stanzas.some((s) => s.args[0] === SCRYPT_STANZA_TYPE)) {
        throw new UsageError("a passphrase can't be combined with other recipients")
    }

    const armor = options.armor === true ? new ArmorEncoder(sink) : undefined
    const out: ChunkSink = armor === undefined ? sink : (bytes) => armor.write(bytes)
    await out(encodeHeader(stanzas, fileKey))
    await encryptPayload(source, fileKey, out)
    await armor?.end()
}

/**
 * Encrypts `plaintext` to `recipients` (already parsed), binary or armored.
 */
export async function encrypt(
    plaintext: Uint8Array,
    recipients: Recipient[],
    options: EncryptOptions = {},
): Promise<Uint8Array> {
    const pieces: Uint8Array[] = []
    await encryptStream(bytesSource(plaintext), recipients, options, (p) => {
        pieces.push(p)
    })
    return Buffer.concat(pieces)
}
