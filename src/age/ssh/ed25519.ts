/**
 * The ssh-ed25519 stanza of age: the Ed25519 key is mapped to its X25519
 * counterpart, the shared secret is tweaked with a scalar derived from the
 * SSH public key (so the stanza is bound to that exact key), and the file key
 * is wrapped with ChaCha20-Poly1305 under a key derived with HKDF-SHA256.
 *
 * Stanza: `-> ssh-ed25519 TAG SHARE`, body = the wrapped 16-byte file key.
 */
import { createHash, createPrivateKey, createPublicKey } from "node:crypto"
import type { KeyObject } from "node:crypto"

import { UsageError } from "../../errors.js"
import { type Stanza, concat } from "../format.js"
import { hkdfSha256 } from "../hkdf.js"
import type { Recipient } from "../types.js"
import {
    WRAPPED_KEY_BYTES, X25519_BYTES, ephemeralKey, openFileKey, sealFileKey, wrappingKey,
    x25519Point, x25519PrivateKey, x25519Shared,
} from "../x25519.js"
import { edwardsToMontgomery } from "./edwards.js"
import { type Ed25519PublicKey, ed25519PublicKey, keyTag } from "./public-key.js"
import { StanzaError } from "./stanza.js"
import { decodeBase64Strict, encodeBase64 } from "./wire.js"

/** The stanza type, and the HKDF info string of both derivations. */
export const ED25519_STANZA_TYPE = "ssh-ed25519"
const ED25519_LABEL = new TextEncoder().encode("age-encryption.org/v1/ssh-ed25519")

/** DER before the 32-byte seed in a PKCS#8 Ed25519 private key (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex")

/** DER before the 32-byte key in an SPKI Ed25519 public key (RFC 8410). */
const ED25519_SPKI_PREFIX_BYTES = 12

/**
 * The tweak scalar: HKDF-SHA256 with no input key, the SSH wire public key as
 * salt and the ssh-ed25519 label as info. It is used as an X25519 private key.
 */
function tweakOf(key: Ed25519PublicKey): KeyObject {
    const tweak = hkdfSha256(new Uint8Array(0), key.wire, ED25519_LABEL, X25519_BYTES)
    return x25519PrivateKey(new Uint8Array(tweak))
}

/** X25519 that refuses a low-order point, as a {@link StanzaError}. */
function x25519Checked(ours: KeyObject, theirs: Uint8Array): Uint8Array {
    try {
        return x25519Shared(ours, theirs)
    } catch (err) {
        throw new StanzaError(err instanceof Error ? err.message : String(err), { cause: err })
    }
}

/**
 * Maps an ssh-ed25519 public key to its X25519 point. Throws a
 * {@link UsageError} when the 32 bytes are not a usable Ed25519 point.
 */
function montgomeryPoint(key: Ed25519PublicKey): Uint8Array {
    const result = edwardsToMontgomery(key.key)
    if (result.ok) return result.point
    if (result.reason === "low-order") {
        throw new UsageError("the ssh-ed25519 public key is a low-order point and cannot be used")
    }
    throw new UsageError("the ssh-ed25519 public key is not a valid Ed25519 point")
}

/** A typage recipient that wraps file keys to an ssh-ed25519 public key. */
export class Ed25519Recipient implements Recipient {
    private readonly tag: string
    private readonly theirPoint: Uint8Array
    private readonly tweak: KeyObject

    /** Throws a {@link UsageError} if the key is not a usable Ed25519 point. */
    constructor(key: Ed25519PublicKey) {
        this.tag = keyTag(key.wire)
        this.theirPoint = montgomeryPoint(key)
        this.tweak = tweakOf(key)
    }

    /** Wraps `fileKey` with a fresh ephemeral X25519 share. */
    wrapFileKey(fileKey: Uint8Array): Stanza[] {
        const ephemeral = ephemeralKey()
        const shared = x25519Checked(this.tweak, x25519Checked(ephemeral.key, this.theirPoint))

        const key = wrappingKey(shared, concat([ephemeral.point, this.theirPoint]),
            ED25519_LABEL)
        const body = sealFileKey(key, fileKey)
        const share = encodeBase64(ephemeral.point, false)
        return [{ args: [ED25519_STANZA_TYPE, this.tag, share], body }]
    }
}

/**
 * Checks the shape of an ssh-ed25519 stanza already known to carry our tag,
 * throwing {@link StanzaError} if it is malformed. Returns the decoded share.
 */
export function checkEd25519Stanza(stanza: Stanza): Uint8Array {
    if (stanza.args.length !== 3) {
        throw new StanzaError(`expected 2 arguments, found ${stanza.args.length - 1}`)
    }

    const share = decodeBase64Strict(stanza.args[2] ?? "", false)
    if (share?.length !== X25519_BYTES) {
        throw new StanzaError("the ephemeral share is not 32 bytes of unpadded base64")
    }

    if (stanza.body.length !== WRAPPED_KEY_BYTES) {
        throw new StanzaError(`the body is ${stanza.body.length} bytes, not 32`)
    }
    return share
}

/**
 * The private half of an ssh-ed25519 key, ready to unwrap stanzas: the X25519
 * private key (the first half of SHA-512 of the Ed25519 seed, clamped), its
 * point, and the tweak of the public key, all made once, so that an unwrap is
 * two native Diffie-Hellman operations.
 */
export class Ed25519Unwrapper {
    private readonly key: KeyObject
    private readonly ourPoint: Uint8Array
    private readonly tweak: KeyObject

    /** `seed` is the 32-byte Ed25519 private seed of `publicKey`. */
    constructor(seed: Uint8Array, publicKey: Ed25519PublicKey) {
        const hashed = createHash("sha512").update(seed).digest()
        this.key = x25519PrivateKey(hashed.subarray(0, X25519_BYTES))
        this.ourPoint = x25519Point(this.key)
        this.tweak = tweakOf(publicKey)
    }

    /**
     * Unwraps the file key from a stanza that carries our tag. Throws
     * {@link StanzaError} if it is malformed or its body does not authenticate.
     */
    unwrap(stanza: Stanza): Uint8Array {
        const share = checkEd25519Stanza(stanza)
        const shared = x25519Checked(this.tweak, x25519Checked(this.key, share))

        const key = wrappingKey(shared, concat([share, this.ourPoint]), ED25519_LABEL)
        const fileKey = openFileKey(key, stanza.body)
        if (fileKey === null) throw new StanzaError("the wrapped file key does not authenticate")
        return fileKey
    }
}

/** The ssh-ed25519 public key of a 32-byte Ed25519 seed. */
export function ed25519PublicKeyOfSeed(seed: Uint8Array): Ed25519PublicKey {
    const privateKey = createPrivateKey({
        key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: "der", type: "pkcs8",
    })
    const der = createPublicKey(privateKey).export({ format: "der", type: "spki" })
    return ed25519PublicKey(new Uint8Array(der.subarray(ED25519_SPKI_PREFIX_BYTES)))
}
