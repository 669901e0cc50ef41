/**
 * The SSH wire encoding (RFC 4251 §5): big-endian `uint32` lengths, `string`
 * and `mpint` fields. SSH public keys, OpenSSH private key files and the key
 * tags age puts in its stanzas are all built from these fields.
 */
import { concat } from "../format.js"

/** Thrown by {@link WireReader} when the bytes do not hold the expected fields. */
export class WireFormatError extends Error {
    override readonly name = "WireFormatError"
}

/**
 * Reads SSH wire-format fields from a byte array, front to back. Every read
 * checks the remaining length and throws {@link WireFormatError} when a field
 * runs past the end, so a truncated or forged blob never reads garbage.
 */
export class WireReader {
    private offset = 0

    constructor(private readonly bytes: Uint8Array) {}

    /** Reads exactly `length` raw bytes. */
    readBytes(length: number): Uint8Array {
        if (length > this.bytes.length - this.offset) {
            throw new WireFormatError("field runs past the end of the data")
        }

        const out = this.bytes.subarray(this.offset, this.offset + length)
        this.offset += length
        return out
    }

    /** Reads a big-endian unsigned 32-bit integer. */
    readUint32(): number {
        const b = this.readBytes(4)
        return new DataView(b.buffer, b.byteOffset, 4).getUint32(0)
    }

    /** Reads a length-prefixed `string` (arbitrary bytes). */
    readString(): Uint8Array {
        return this.readBytes(this.readUint32())
    }

    /** Reads a length-prefixed `string` that must be printable ASCII, such as a key type. */
    readName(): string {
        const bytes = this.readString()
        if (!bytes.every((b) => b >= 0x20 && b < 0x7f)) {
            throw new WireFormatError("name field is not printable ASCII")
        }
        return String.fromCharCode(...bytes)
    }

    /** Reads a non-negative `mpint` (big-endian two's complement) as a bigint. */
    readMpint(): bigint {
        const bytes = this.readString()
        if (((bytes[0] ?? 0) & 0x80) !== 0) {
            throw new WireFormatError("negative integer where a positive one is required")
        }
        return bytesToBigint(bytes)
    }

    /** The bytes not read yet. */
    rest(): Uint8Array {
        return this.bytes.subarray(this.offset)
    }

    /** Throws unless every byte has been read: trailing data means a malformed blob. */
    expectEnd(): void {
        if (this.offset !== this.bytes.length) {
            throw new WireFormatError("unexpected data after the last field")
        }
    }
}

/** Encodes a `uint32`. */
export function wireUint32(value: number): Uint8Array {
    const out = new Uint8Array(4)
    new DataView(out.buffer).setUint32(0, value)
    return out
}

/** Encodes a length-prefixed `string` from bytes or ASCII text. */
export function wireString(value: Uint8Array | string): Uint8Array {
    const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value
    return concat([wireUint32(bytes.length), bytes])
}

/**
 * Encodes a non-negative bigint as a minimal `mpint`: no leading zero bytes
 * except one when the high bit is set, and zero as the empty string. This is
 * the canonical form OpenSSH and Go write, so key tags computed from it match.
 */
export function wireMpint(value: bigint): Uint8Array {
    let bytes = bigintToBytes(value)
    if (((bytes[0] ?? 0) & 0x80) !== 0) bytes = concat([new Uint8Array([0]), bytes])
    return wireString(bytes)
}

/** Interprets big-endian bytes as an unsigned integer. */
export function bytesToBigint(bytes: Uint8Array): bigint {
    if (bytes.length === 0) return 0n
    return BigInt("0x" + Buffer.from(bytes).toString("hex"))
}

/** The minimal big-endian bytes of a non-negative integer (empty for zero). */
export function bigintToBytes(value: bigint): Uint8Array {
    if (value === 0n) return new Uint8Array(0)

    const hex = value.toString(16)
    return new Uint8Array(Buffer.from(hex.length % 2 === 0 ? hex : "0" + hex, "hex"))
}

/** The number of significant bits of a non-negative integer. */
export function bitLength(value: bigint): number {
    return value === 0n ? 0 : value.toString(2).length
}

const BASE64_ALPHABET = /^[A-Za-z0-9+/]*$/

/**
 * Decodes standard base64, strictly: only the canonical encoding of some bytes
 * is accepted (no stray characters, no non-zero trailing bits), with padding
 * required when `padded` and forbidden otherwise. Returns undefined on failure.
 * age stanzas use the unpadded form; SSH public key lines the padded one.
 */
export function decodeBase64Strict(text: string, padded: boolean): Uint8Array | undefined {
    const body = padded ? text.replace(/={1,2}$/, "") : text
    if (!BASE64_ALPHABET.test(body)) return undefined

    const bytes = new Uint8Array(Buffer.from(body, "base64"))
    if (encodeBase64(bytes, padded) !== text) return undefined
    return bytes
}

/** Encodes standard base64, padded or not. */
export function encodeBase64(bytes: Uint8Array, padded: boolean): string {
    const text = Buffer.from(bytes).toString("base64")
    return padded ? text : text.replace(/=+$/, "")
}

/** base64url without padding, as JSON Web Keys carry integers. */
export function bigintToBase64Url(value: bigint): string {
    return Buffer.from(bigintToBytes(value)).toString("base64url")
}

/** Decodes a JSON Web Key integer (base64url) into a bigint. */
export function base64UrlToBigint(text: string): bigint {
    return bytesToBigint(new Uint8Array(Buffer.from(text, "base64url")))
}
