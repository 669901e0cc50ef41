/**
 * The ssh-ed25519 stanza of age: the Ed25519 key is mapped to its X25519
 * counterpart, the shared secret is tweaked with a scalar derived from the
 * SSH public key (so the stanza is bound to that exact key), and the file key
 * is wrapped with ChaCha20-Poly1305 under a key derived with HKDF-SHA256.
 *
 * Stanza: `-> ssh-ed25519 TAG SHARE`, body = the wrapped 16-byte file key.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto"

import { ed25519, x25519 } from "@noble/curves/ed25519.js"
import { Stanza } from "age-encryption"
import type { Recipient } from "age-encryption"

import { UsageError } from "../../errors.js"
import { type Ed25519PublicKey, ed25519PublicKey, keyTag } from "./public-key.js"
import { FILE_KEY_BYTES, StanzaError } from "./stanza.js"
import { concatBytes, decodeBase64Strict, encodeBase64 } from "./wire.js"

/** The stanza type, and the HKDF info string of both derivations. */
export const ED25519_STANZA_TYPE = "ssh-ed25519"
const ED25519_LABEL = new TextEncoder().encode("age-encryption.org/v1/ssh-ed25519")

/** Size of an X25519 scalar or point, in bytes. */
const X25519_BYTES = 32
/** Size of a Poly1305 tag, in bytes. */
const AEAD_TAG_BYTES = 16
/** ChaCha20-Poly1305 nonce: 12 zero bytes, safe because every wrapping key is used once. */
const ZERO_NONCE = new Uint8Array(12)

/**
 * The tweak scalar: HKDF-SHA256 with no input key, the SSH wire public key as
 * salt and the ssh-ed25519 label as info.
 */
function tweakOf(key: Ed25519PublicKey): Uint8Array {
    return new Uint8Array(hkdfSync("sha256", new Uint8Array(0), key.wire, ED25519_LABEL, 32))
}

function wrappingKey(sharedSecret: Uint8Array, salt: Uint8Array): Uint8Array {
    return new Uint8Array(hkdfSync("sha256", sharedSecret, salt, ED25519_LABEL, 32))
}

/** X25519 that refuses an all-zero result (a low-order point was involved). */
function x25519Checked(scalar: Uint8Array, point: Uint8Array): Uint8Array {
    let out: Uint8Array
    try {
        out = x25519.scalarMult(scalar, point)
    } catch (err) {
        throw new StanzaError("the X25519 share is a low-order point", { cause: err })
    }

    if (out.every((b) => b === 0)) throw new StanzaError("the X25519 shared secret is zero")
    return out
}

/**
 * Maps an ssh-ed25519 public key to its X25519 point. Throws a
 * {@link UsageError} when the 32 bytes are not a usable Ed25519 point.
 */
function montgomeryPoint(key: Ed25519PublicKey): Uint8Array {
    let point
    try {
        point = ed25519.Point.fromBytes(key.key)
    } catch (err) {
        throw new UsageError("the ssh-ed25519 public key is not a valid Ed25519 point",
            { cause: err })
    }

    if (point.isSmallOrder()) {
        throw new UsageError("the ssh-ed25519 public key is a low-order point and cannot be used")
    }
    return ed25519.utils.toMontgomery(key.key)
}

/** A typage recipient that wraps file keys to an ssh-ed25519 public key. */
export class Ed25519Recipient implements Recipient {
    private readonly tag: string
    private readonly theirPoint: Uint8Array
    private readonly tweak: Uint8Array

    /** Throws a {@link UsageError} if the key is not a usable Ed25519 point. */
    constructor(key: Ed25519PublicKey) {
        this.tag = keyTag(key.wire)
        this.theirPoint = montgomeryPoint(key)
        this.tweak = tweakOf(key)
    }

    /** Wraps `fileKey` with a fresh ephemeral X25519 share. */
    wrapFileKey(fileKey: Uint8Array): Stanza[] {
        const ephemeral = new Uint8Array(randomBytes(X25519_BYTES))
        const share = x25519.scalarMultBase(ephemeral)
        const shared = x25519Checked(this.tweak, x25519Checked(ephemeral, this.theirPoint))

        const key = wrappingKey(shared, concatBytes(share, this.theirPoint))
        const cipher = createCipheriv("chacha20-poly1305", key, ZERO_NONCE,
            { authTagLength: AEAD_TAG_BYTES })
        const body = concatBytes(cipher.update(fileKey), cipher.final(), cipher.getAuthTag())

        return [new Stanza([ED25519_STANZA_TYPE, this.tag, encodeBase64(share, false)], body)]
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

    if (stanza.body.length !== FILE_KEY_BYTES + AEAD_TAG_BYTES) {
        throw new StanzaError(`the body is ${stanza.body.length} bytes, not 32`)
    }
    return share
}

/**
 * The private half of an ssh-ed25519 key, ready to unwrap stanzas: the X25519
 * scalar (the first half of SHA-512 of the Ed25519 seed), its point, and the
 * tweak of the public key.
 */
export class Ed25519Unwrapper {
    private readonly scalar: Uint8Array
    private readonly ourPoint: Uint8Array
    private readonly tweak: Uint8Array

    /** `seed` is the 32-byte Ed25519 private seed of `publicKey`. */
    constructor(seed: Uint8Array, publicKey: Ed25519PublicKey) {
        this.scalar = ed25519.utils.toMontgomerySecret(seed)
        this.ourPoint = x25519.scalarMultBase(this.scalar)
        this.tweak = tweakOf(publicKey)
    }

    /**
     * Unwraps the file key from a stanza that carries our tag. Throws
     * {@link StanzaError} if it is malformed or its body does not authenticate.
     */
    unwrap(stanza: Stanza): Uint8Array {
        const share = checkEd25519Stanza(stanza)
        const shared = x25519Checked(this.tweak, x25519Checked(this.scalar, share))

        const key = wrappingKey(shared, concatBytes(share, this.ourPoint))
        const decipher = createDecipheriv("chacha20-poly1305", key, ZERO_NONCE,
            { authTagLength: AEAD_TAG_BYTES })
        decipher.setAuthTag(stanza.body.subarray(FILE_KEY_BYTES))
        try {
            return concatBytes(decipher.update(stanza.body.subarray(0, FILE_KEY_BYTES)),
                decipher.final())
        } catch (err) {
            throw new StanzaError("the wrapped file key does not authenticate", { cause: err })
        }
    }
}

/** The ssh-ed25519 public key of a 32-byte Ed25519 seed. */
export function ed25519PublicKeyOfSeed(seed: Uint8Array): Ed25519PublicKey {
    return ed25519PublicKey(ed25519.getPublicKey(seed))
}
