/**
 * X25519 keys (`age1…` recipients, `AGE-SECRET-KEY-1…` identities) and the
 * `X25519` stanza, through node:crypto (OpenSSL): the private key becomes a
 * `KeyObject` once per identity (with its own point), so unwrapping a file
 * key costs only what depends on the stanza: importing the share (as raw
 * bytes), one Diffie-Hellman, one HKDF and one ChaCha20-Poly1305 open, all
 * native. The ssh-ed25519 stanza reuses the key helpers here.
 *
 * Stanza: `-> X25519 SHARE`, body = the file key sealed under
 * HKDF-SHA-256(shared secret, SHARE || recipient, "age-encryption.org/v1/X25519").
 */
import {
    createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, diffieHellman,
    generateKeyPairSync,
} from "node:crypto"
import type { KeyObject } from "node:crypto"

import { bech32 } from "@scure/base"
import { decodeBase64, encodeBase64 } from "./base64.js"
import { FILE_KEY_BYTES } from "./format.js"
import type { Stanza } from "./format.js"
import { hkdfSha256 } from "./hkdf.js"
import type { Identity, Recipient } from "./types.js"

/** The stanza type. */
export const X25519_STANZA_TYPE = "X25519"

/** Bytes of an X25519 scalar, point or shared secret. */
export const X25519_BYTES = 32

/** Bytes of the Poly1305 tag on a wrapped file key. */
const TAG_BYTES = 16

/** Bytes of a wrapped file key: the key and its tag. */
export const WRAPPED_KEY_BYTES = FILE_KEY_BYTES + TAG_BYTES

/** Bytes of a key derived to wrap a file key. */
const WRAPPING_KEY_BYTES = 32

/** Nonce for wrapping a file key: all zero, safe because each wrapping key is used once. */
const ZERO_NONCE = new Uint8Array(12)

const LABEL = Buffer.from("age-encryption.org/v1/X25519")

/** Bech32 human-readable parts of X25519 identities and recipients. */
const IDENTITY_PREFIX = "AGE-SECRET-KEY-"
const RECIPIENT_PREFIX = "age"

/** DER before the raw key in PKCS#8 (private) and SPKI (public) X25519 keys, RFC 8410. */
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex")
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex")

/** The node:crypto private key of a 32-byte X25519 scalar (clamped when used, per RFC 7748). */
export function x25519PrivateKey(scalar: Uint8Array): KeyObject {
    return createPrivateKey({
        key: Buffer.concat([PKCS8_PREFIX, scalar]), format: "der", type: "pkcs8",
    })
}

/** The raw 32-byte point of an X25519 public or private key. */
export function x25519Point(key: KeyObject): Uint8Array {
    const publicKey = key.type === "private" ? createPublicKey(key) : key
    const der = publicKey.export({ format: "der", type: "spki" })
    return new Uint8Array(der.subarray(SPKI_PREFIX.length))
}

/**
 * The node:crypto public key of a raw 32-byte X25519 point. Imported as a
 * JWK, which OpenSSL takes as raw key bytes: an order of magnitude faster than
 * decoding the same key as DER, and this runs once per stanza.
 */
function x25519PublicKey(point: Uint8Array): KeyObject {
    const x = Buffer.from(point.buffer, point.byteOffset, point.byteLength).toString("base64url")
    return createPublicKey({ key: { kty: "OKP", crv: "X25519", x }, format: "jwk" })
}

/**
 * X25519 of our private key and their raw point. Throws an `Error` when the
 * result is all zero (their point has a small order), which Go age rejects.
 */
export function x25519Shared(ours: KeyObject, theirs: Uint8Array): Uint8Array {
    let shared: Buffer
    try {
        shared = diffieHellman({ privateKey: ours, publicKey: x25519PublicKey(theirs) })
    } catch (err) {
        throw new Error("the X25519 share is a low-order point", { cause: err })
    }

    if (shared.every((b) => b === 0)) throw new Error("the X25519 shared secret is zero")
    return new Uint8Array(shared)
}

/** A fresh ephemeral X25519 key pair: the private key and its raw point. */
export function ephemeralKey(): { key: KeyObject, point: Uint8Array } {
    const { privateKey, publicKey } = generateKeyPairSync("x25519")
    return { key: privateKey, point: x25519Point(publicKey) }
}

/** HKDF-SHA-256 to the 32-byte key that wraps a file key. */
export function wrappingKey(secret: Uint8Array, salt: Uint8Array, label: Uint8Array): Buffer {
    return hkdfSha256(secret, salt, label, WRAPPING_KEY_BYTES)
}

/** Seals a file key with ChaCha20-Poly1305 under `key` (zero nonce): 32 bytes. */
export function sealFileKey(key: Uint8Array, fileKey: Uint8Array): Uint8Array {
    const cipher = createCipheriv("chacha20-poly1305", key, ZERO_NONCE,
        { authTagLength: TAG_BYTES })
    return Buffer.concat([cipher.update(fileKey), cipher.final(), cipher.getAuthTag()])
}

/**
 * Opens a sealed file key; `null` when it does not authenticate under `key`.
 * Throws an `Error` when `body` is not 32 bytes.
 */
export function openFileKey(key: Uint8Array, body: Uint8Array): Uint8Array | null {
    if (body.length !== WRAPPED_KEY_BYTES) {
        throw new Error("invalid stanza: the body is not 32 bytes")
    }

    const decipher = createDecipheriv("chacha20-poly1305", key, ZERO_NONCE,
        { authTagLength: TAG_BYTES })
    decipher.setAuthTag(body.subarray(FILE_KEY_BYTES))
    const fileKey = decipher.update(body.subarray(0, FILE_KEY_BYTES))
    try {
        decipher.final()
    } catch {
        return null
    }
    return new Uint8Array(fileKey)
}

/**
 * Decodes bech32 `text` to its prefix and bytes; `undefined` when it is not
 * valid bech32. `limit`: the longest text accepted (bech32's 90 by default,
 * `false` for post-quantum keys, which are longer).
 */
export function decodeBech32(
    text: string, limit?: false,
): { prefix: string, bytes: Uint8Array } | undefined {
    try {
        const { prefix, words } = bech32.decode(text, limit)
        return { prefix, bytes: bech32.fromWords(words) }
    } catch {
        return undefined
    }
}

/** The `age1…` recipient string of a raw X25519 point. */
function recipientString(point: Uint8Array): string {
    return bech32.encode(RECIPIENT_PREFIX, bech32.toWords(point))
}

/** Wraps file keys to an `age1…` recipient. */
export class X25519Recipient implements Recipient {
    private readonly point: Uint8Array

    /** Throws a plain `Error` when `text` is not a valid `age1…` recipient. */
    constructor(text: string) {
        const decoded = decodeBech32(text)
        if (!text.startsWith("age1") || decoded?.prefix.toLowerCase() !== RECIPIENT_PREFIX
            || decoded.bytes.length !== X25519_BYTES) {
            throw new Error("invalid recipient")
        }
        this.point = decoded.bytes
    }

    /** Wraps `fileKey` in one `X25519` stanza with a fresh ephemeral share. */
    wrapFileKey(fileKey: Uint8Array): Stanza[] {
        const ephemeral = ephemeralKey()
        const shared = x25519Shared(ephemeral.key, this.point)
        const key = wrappingKey(shared, Buffer.concat([ephemeral.point, this.point]), LABEL)
        const share = encodeBase64(ephemeral.point, false)
        return [{ args: [X25519_STANZA_TYPE, share], body: sealFileKey(key, fileKey) }]
    }
}

/** Unwraps `X25519` stanzas with an `AGE-SECRET-KEY-1…` identity. */
export class X25519Identity implements Identity {
    private readonly key: KeyObject
    private readonly point: Uint8Array

    /** Throws a plain `Error` (without the key) when `text` is not a valid identity. */
    constructor(text: string) {
        const decoded = decodeBech32(text)
        if (!text.startsWith("AGE-SECRET-KEY-1")
            || decoded?.prefix.toUpperCase() !== IDENTITY_PREFIX
            || decoded.bytes.length !== X25519_BYTES) {
            throw new Error("invalid identity")
        }
        this.key = x25519PrivateKey(decoded.bytes)
        this.point = x25519Point(this.key)
    }

    /** The `age1…` recipient of this identity. */
    get recipient(): string {
        return recipientString(this.point)
    }

    /**
     * Returns the file key from the first `X25519` stanza that opens with this
     * identity, or `null`. Throws an `Error` for a malformed `X25519` stanza
     * or a low-order share, as Go age does.
     */
    unwrapFileKey(stanzas: Stanza[]): Uint8Array | null {
        for (const stanza of stanzas) {
            if (stanza.args[0] !== X25519_STANZA_TYPE) continue
            if (stanza.args.length !== 2) throw new Error("invalid X25519 stanza")
            const share = decodeBase64(stanza.args[1] ?? "", false)
            if (share?.length !== X25519_BYTES) throw new Error("invalid X25519 stanza")

            const shared = x25519Shared(this.key, share)
            const key = wrappingKey(shared, Buffer.concat([share, this.point]), LABEL)
            const fileKey = openFileKey(key, stanza.body)
            if (fileKey !== null) return fileKey
        }
        return null
    }
}
