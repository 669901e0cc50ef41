/**
 * One chunk of the age payload (the STREAM construction), sealed or opened with
 * node:crypto's ChaCha20-Poly1305: the nonce layout and the tag handling in one
 * place, for decrypting and encrypting payloads (stream.ts) and for tests that
 * build payloads chunk by chunk.
 */
import { createCipheriv, createDecipheriv } from "node:crypto"

/** Plaintext bytes per chunk (64 KiB). */
export const CHUNK_BYTES = 64 * 1024

/** Bytes of the Poly1305 tag sealed onto each chunk. */
export const TAG_BYTES = 16

/** Ciphertext bytes of a full chunk (64 KiB and 16). */
export const SEALED_CHUNK_BYTES = CHUNK_BYTES + TAG_BYTES

/** Bytes of the per-chunk nonce: an 11-byte counter and the last-chunk flag. */
const CHUNK_NONCE_BYTES = 12

/** The cipher's name in node:crypto. */
const AEAD = "chacha20-poly1305"

/** The STREAM nonce of chunk `index`: an 11-byte big-endian counter, then the last flag. */
function chunkNonce(index: number, last: boolean): Buffer {
    const nonce = Buffer.alloc(CHUNK_NONCE_BYTES)
    let counter = index
    for (let i = CHUNK_NONCE_BYTES - 2; i >= 0 && counter > 0; i--) {
        nonce[i] = counter % 256
        counter = Math.floor(counter / 256)
    }
    nonce[CHUNK_NONCE_BYTES - 1] = last ? 1 : 0
    return nonce
}

/**
 * Opens one sealed chunk (ciphertext then tag) with the payload `key`, as
 * chunk `index` (counted from 0) and as the last chunk or not. Returns
 * `undefined` when it does not authenticate so; the plaintext is returned only
 * after its tag is verified.
 */
export function openChunk(
    key: Uint8Array, index: number, last: boolean, sealed: Uint8Array,
): Uint8Array | undefined {
    if (sealed.length < TAG_BYTES) return undefined
    const split = sealed.length - TAG_BYTES
    const decipher = createDecipheriv(AEAD, key, chunkNonce(index, last),
        { authTagLength: TAG_BYTES })
    decipher.setAuthTag(sealed.subarray(split))
    const plain = decipher.update(sealed.subarray(0, split))
    try {
        decipher.final()
    } catch {
        return undefined
    }
    return plain
}

/** Seals one chunk of at most {@link CHUNK_BYTES}: its ciphertext followed by the tag. */
export function sealChunk(
    key: Uint8Array, index: number, last: boolean, plain: Uint8Array,
): Uint8Array {
    const cipher = createCipheriv(AEAD, key, chunkNonce(index, last),
        { authTagLength: TAG_BYTES })
    const sealed = Buffer.allocUnsafe(plain.length + TAG_BYTES)
    const body = cipher.update(plain)
    body.copy(sealed)
    cipher.final()
    cipher.getAuthTag().copy(sealed, plain.length)
    return sealed
}
