/**
 * The age payload: a 16-byte nonce, then the plaintext in 64 KiB chunks, each
 * sealed with ChaCha20-Poly1305 under a key derived from the file key (the
 * STREAM construction). Decryption follows Go age's rules for the last chunk,
 * so a truncated, reordered or extended payload is always detected.
 *
 * The cipher is node:crypto's (OpenSSL's) ChaCha20-Poly1305, present in every
 * Node.js build this package supports; it runs about ten times faster than a
 * JavaScript implementation, which matters for large files.
 */
import { randomBytes } from "node:crypto"

import {
    CHUNK_BYTES, SEALED_CHUNK_BYTES, TAG_BYTES, openChunk as open, sealChunk as seal,
} from "./chunks.js"
import { FormatProblem } from "./failure.js"
import { hkdfSha256 } from "./hkdf.js"
import type { ByteReader } from "./reader.js"

/** Bytes of the payload nonce that follows the header. */
export const PAYLOAD_NONCE_BYTES = 16

/** Bytes of the payload key. */
const PAYLOAD_KEY_BYTES = 32

const PAYLOAD_LABEL = Buffer.from("payload")

/** Receives verified plaintext or ciphertext pieces in order. */
export type ChunkSink = (bytes: Uint8Array) => void | Promise<void>

/** The payload key: HKDF-SHA-256 of the file key, salted with the payload nonce. */
export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Uint8Array {
    return new Uint8Array(hkdfSha256(fileKey, nonce, PAYLOAD_LABEL, PAYLOAD_KEY_BYTES))
}

/**
 * Decrypts the payload that `reader` is positioned at (the nonce first) and
 * hands each chunk to `sink` once that chunk is authenticated, in order.
 * Throws a {@link FormatProblem} (`truncated` or `payload`) when the payload
 * is incomplete, a chunk fails, the last chunk is empty without being the only
 * one, or data follows the last chunk; the first such problem in the file is
 * the one reported. Chunks given to `sink` before a failure are genuine but
 * incomplete: callers must discard them when this throws.
 *
 * Each chunk is opened where it lies in the reader's buffer; only a chunk
 * split between two reads of the source is copied first.
 */
export async function decryptPayload(
    reader: ByteReader, fileKey: Uint8Array, sink: ChunkSink,
): Promise<void> {
    if (await reader.fill(PAYLOAD_NONCE_BYTES) < PAYLOAD_NONCE_BYTES) {
        throw new FormatProblem("truncated", "the file ends before the payload starts")
    }
    const key = payloadKey(fileKey, reader.take(PAYLOAD_NONCE_BYTES))

    for (let index = 0; ; index++) {
        const buffered = await reader.fill(SEALED_CHUNK_BYTES + 1)
        const chunk = `chunk ${index + 1}`

        if (buffered > SEALED_CHUNK_BYTES) {
            const sealed = reader.take(SEALED_CHUNK_BYTES)
            const plain = open(key, index, false, sealed)
            if (plain !== undefined) {
                await sink(plain)
                continue
            }
            if (open(key, index, true, sealed) !== undefined) {
                throw new FormatProblem("payload", `there is data after the last chunk (${chunk})`)
            }
            throw new FormatProblem("payload", `payload ${chunk} failed authentication`)
        }

        if (buffered === 0) {
            throw new FormatProblem("truncated", index === 0
                ? "the payload is missing"
                : `the payload ends after chunk ${index} without its last chunk`)
        }

        const sealed = reader.take(buffered)
        if (buffered === SEALED_CHUNK_BYTES) {
            const plain = open(key, index, false, sealed)
            if (plain !== undefined) {
                await sink(plain)
                continue
            }
        }
        if (index > 0 && buffered === TAG_BYTES) {
            throw new FormatProblem("payload", `the last chunk (${chunk}) is empty`)
        }
        const plain = open(key, index, true, sealed)
        if (plain === undefined) {
            throw new FormatProblem("payload", `payload ${chunk} (the last) failed`
                + " authentication: it was modified or cut short")
        }
        await sink(plain)
        return
    }
}

/**
 * Encrypts a plaintext stream into the payload: writes the nonce, then each
 * sealed chunk to `sink`. A 64 KiB multiple ends in a full last chunk, and an
 * empty plaintext is one empty last chunk, as Go age writes them.
 */
export async function encryptPayload(
    plaintext: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    fileKey: Uint8Array,
    sink: ChunkSink,
): Promise<void> {
    const nonce = randomBytes(PAYLOAD_NONCE_BYTES)
    const key = payloadKey(fileKey, nonce)
    await sink(nonce)

    const buffer = new Uint8Array(CHUNK_BYTES)
    let used = 0
    let index = 0
    for await (const piece of plaintext) {
        let rest = piece
        while (rest.length > 0) {
            if (used === CHUNK_BYTES) {
                await sink(seal(key, index, false, buffer))
                index++
                used = 0
            }
            const n = Math.min(CHUNK_BYTES - used, rest.length)
            buffer.set(rest.subarray(0, n), used)
            used += n
            rest = rest.subarray(n)
        }
    }
    await sink(seal(key, index, true, buffer.subarray(0, used)))
}
