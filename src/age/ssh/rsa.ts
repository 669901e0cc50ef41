/**
 * The ssh-rsa stanza of age: the file key encrypted with RSA-OAEP (SHA-256,
 * MGF1-SHA-256) under the label "age-encryption.org/v1/ssh-rsa".
 *
 * Stanza: `-> ssh-rsa TAG`, body = the OAEP ciphertext (the modulus size).
 */
import { constants, createPublicKey, privateDecrypt, publicEncrypt } from "node:crypto"
import type { KeyObject } from "node:crypto"

import { UsageError } from "../../errors.js"
import type { Stanza } from "../format.js"
import type { Recipient } from "../types.js"
import { type RsaPublicKey, keyTag } from "./public-key.js"
import { FILE_KEY_BYTES, StanzaError } from "./stanza.js"
import { bigintToBase64Url, bitLength } from "./wire.js"

/** The stanza type. */
export const RSA_STANZA_TYPE = "ssh-rsa"
const OAEP_LABEL = Buffer.from("age-encryption.org/v1/ssh-rsa")

/** Smallest RSA modulus age encrypts to, in bits; smaller keys only decrypt. */
export const MIN_RSA_RECIPIENT_BITS = 2048

/** A typage recipient that wraps file keys to an ssh-rsa public key of 2048 bits or more. */
export class RsaRecipient implements Recipient {
    private readonly tag: string
    private readonly key: KeyObject

    /** Throws a {@link UsageError} naming the size for keys below 2048 bits. */
    constructor(publicKey: RsaPublicKey) {
        const bits = bitLength(publicKey.n)
        if (bits < MIN_RSA_RECIPIENT_BITS) {
            throw new UsageError(`the ssh-rsa public key is ${bits} bits; age refuses to ` +
                `encrypt to RSA keys below ${MIN_RSA_RECIPIENT_BITS} bits. Use a larger RSA ` +
                "key, an ssh-ed25519 key or an age1 recipient")
        }

        this.tag = keyTag(publicKey.wire)
        this.key = createPublicKey({
            key: {
                kty: "RSA",
                n: bigintToBase64Url(publicKey.n),
                e: bigintToBase64Url(publicKey.e),
            },
            format: "jwk",
        })
    }

    /** Encrypts `fileKey` with RSA-OAEP-SHA256 and the age label. */
    wrapFileKey(fileKey: Uint8Array): Stanza[] {
        const body = publicEncrypt({
            key: this.key,
            padding: constants.RSA_PKCS1_OAEP_PADDING,
            oaepHash: "sha256",
            oaepLabel: OAEP_LABEL,
        }, fileKey)
        return [{ args: [RSA_STANZA_TYPE, this.tag], body: new Uint8Array(body) }]
    }
}

/**
 * Checks the shape of an ssh-rsa stanza already known to carry our tag,
 * throwing {@link StanzaError} if it is malformed.
 */
export function checkRsaStanza(stanza: Stanza): void {
    if (stanza.args.length !== 2) {
        throw new StanzaError(`expected 1 argument, found ${stanza.args.length - 1}`)
    }
}

/** The private half of an ssh-rsa key, ready to unwrap stanzas (any key size). */
export class RsaUnwrapper {
    /** `key` is the RSA private key object. */
    constructor(private readonly key: KeyObject) {}

    /**
     * Decrypts the file key from a stanza that carries our tag. Throws
     * {@link StanzaError} if it is malformed or does not decrypt to 16 bytes.
     */
    unwrap(stanza: Stanza): Uint8Array {
        checkRsaStanza(stanza)

        let fileKey: Buffer
        try {
            fileKey = privateDecrypt({
                key: this.key,
                padding: constants.RSA_PKCS1_OAEP_PADDING,
                oaepHash: "sha256",
                oaepLabel: OAEP_LABEL,
            }, stanza.body)
        } catch (err) {
            throw new StanzaError("the wrapped file key does not decrypt", { cause: err })
        }

        if (fileKey.length !== FILE_KEY_BYTES) {
            throw new StanzaError(`the wrapped file key is ${fileKey.length} bytes, not 16`)
        }
        return new Uint8Array(fileKey)
    }
}
