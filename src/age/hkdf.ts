/**
 * HKDF-SHA-256 (RFC 5869) for the short keys age derives (at most 32 bytes,
 * one block), as two HMACs of node:crypto. Each of age's derivations (the key
 * that wraps a file key, the header MAC key, the payload key) costs about half
 * of what `hkdfSync` does, whose per-call key handling dominates at this size;
 * at login that is three derivations per secret. Tests check it against
 * `hkdfSync` and the C2SP vectors.
 */
import { createHmac } from "node:crypto"

/** Bytes of one HMAC-SHA-256 output: the most one block of HKDF gives. */
export const HKDF_BLOCK_BYTES = 32

/** An HMAC-SHA-256 key of zero bytes, which HKDF's extract step uses for an empty salt. */
const EMPTY_SALT = new Uint8Array(HKDF_BLOCK_BYTES)

/** The counter byte of HKDF's first (and here only) expand block. */
const FIRST_BLOCK = new Uint8Array([1])

/**
 * HKDF-SHA-256 of `secret` with `salt` and `info`, `length` bytes
 * (1 to {@link HKDF_BLOCK_BYTES}). An empty salt is a block of zeros, as the
 * RFC says. Throws a `RangeError` for any other length.
 */
export function hkdfSha256(
    secret: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number,
): Buffer {
    if (!Number.isInteger(length) || length < 1 || length > HKDF_BLOCK_BYTES) {
        throw new RangeError(`HKDF length ${length} is not 1 to ${HKDF_BLOCK_BYTES} bytes`)
    }
    const prk = createHmac("sha256", salt.length === 0 ? EMPTY_SALT : salt).update(secret).digest()
    const okm = createHmac("sha256", prk).update(info).update(FIRST_BLOCK).digest()
    return length === HKDF_BLOCK_BYTES ? okm : okm.subarray(0, length)
}
