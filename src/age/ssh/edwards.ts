/**
 * The one piece of Edwards25519 arithmetic that encrypting to an ssh-ed25519
 * key needs and node:crypto lacks: decoding the public key's point (RFC 8032,
 * section 5.1.3) and mapping it to its Montgomery u-coordinate (RFC 7748,
 * section 4.1), u = (1 + y) / (1 - y). Done with BigInt, once per recipient,
 * so that a run does not load a whole elliptic-curve library for it; the
 * test suite checks it against @noble/curves on random and low-order keys.
 */
import type { KeyObject } from "node:crypto"

import { x25519PrivateKey, x25519Shared } from "../x25519.js"

/** The field prime, 2^255 - 19. */
const P = 2n ** 255n - 19n

/** The Edwards curve constant d = -121665 / 121666 mod p. */
const D = 37095705934669439343138083508754565189542113879843219016388785533085940283555n

/** Bytes of an encoded point. */
const POINT_BYTES = 32

/** Any scalar will do for the small-order probe; this one fills every byte. */
const PROBE_BYTE = 0x55

/** What decoding an Ed25519 public key gives. */
export type MontgomeryResult =
    | { ok: true, point: Uint8Array }
    | { ok: false, reason: "invalid" | "low-order" }

/** base^exponent mod p, by square-and-multiply. */
function power(base: bigint, exponent: bigint): bigint {
    let result = 1n
    let square = base % P
    for (let e = exponent; e > 0n; e >>= 1n) {
        if ((e & 1n) === 1n) result = result * square % P
        square = square * square % P
    }
    return result
}

function inverse(value: bigint): bigint {
    return power(value, P - 2n)
}

function littleEndian(bytes: Uint8Array): bigint {
    let value = 0n
    for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i] ?? 0)
    return value
}

function toLittleEndian(value: bigint): Uint8Array {
    const out = new Uint8Array(POINT_BYTES)
    let rest = value
    for (let i = 0; i < POINT_BYTES; i++) {
        out[i] = Number(rest & 0xffn)
        rest >>= 8n
    }
    return out
}

let probe: KeyObject | undefined

/**
 * Whether the Montgomery point `u` has a small order (dividing 8). X25519
 * clamps every scalar to a multiple of 8 below the group order, so its
 * result is all zero exactly for such points; OpenSSL refuses that result.
 */
function hasSmallOrder(u: Uint8Array): boolean {
    probe ??= x25519PrivateKey(new Uint8Array(POINT_BYTES).fill(PROBE_BYTE))
    try {
        x25519Shared(probe, u)
        return false
    } catch {
        return true
    }
}

/**
 * The X25519 u-coordinate of the Ed25519 public key `encoded` (32 bytes), or
 * why there is none: `invalid` when the bytes are not a canonical encoding of
 * a curve point (y at least p, no x for this y, or x = 0 with the sign bit
 * set), `low-order` for one of the 8 points of small order, which would
 * make every shared secret zero.
 */
export function edwardsToMontgomery(encoded: Uint8Array): MontgomeryResult {
    if (encoded.length !== POINT_BYTES) return { ok: false, reason: "invalid" }
    const signBit = ((encoded[POINT_BYTES - 1] ?? 0) & 0x80) !== 0
    const cleared = Uint8Array.from(encoded)
    cleared[POINT_BYTES - 1] = (cleared[POINT_BYTES - 1] ?? 0) & 0x7f
    const y = littleEndian(cleared)
    if (y >= P) return { ok: false, reason: "invalid" }

    // x^2 = (y^2 - 1) / (d y^2 + 1): the point exists when that is a square.
    const y2 = y * y % P
    const numerator = (y2 - 1n + P) % P
    if (numerator === 0n) return { ok: false, reason: signBit ? "invalid" : "low-order" }
    const x2 = numerator * inverse((D * y2 + 1n) % P) % P
    if (power(x2, (P - 1n) / 2n) !== 1n) return { ok: false, reason: "invalid" }

    const u = toLittleEndian((1n + y) * inverse((1n - y + P) % P) % P)
    if (hasSmallOrder(u)) return { ok: false, reason: "low-order" }
    return { ok: true, point: u }
}
