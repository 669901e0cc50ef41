/**
 * Passphrase encryption (the `scrypt` stanza), with current Go age's rules:
 * the stanza is alone in its header, the salt is 16 bytes, the work factor is
 * a decimal without leading zeros, at most 22 when decrypting, and 18 when
 * encrypting. Derivation uses node:crypto's scrypt, which is fast enough for
 * these work factors (typage's own scrypt stops at 20).
 */
import { randomBytes, scrypt } from "node:crypto"

import { decodeBase64, encodeBase64 } from "./base64.js"
import { FILE_KEY_BYTES } from "./format.js"
import type { Stanza } from "./format.js"
import type { Identity, Recipient } from "./types.js"
import { openFileKey, sealFileKey } from "./x25519.js"

/** The stanza type. */
export const SCRYPT_STANZA_TYPE = "scrypt"

/** Work factor (log2 of N) used to encrypt, as Go age: about a second. */
export const SCRYPT_ENCRYPT_WORK_FACTOR = 18

/** Highest work factor accepted when decrypting, as Go age (N = 2^22, 4 GiB of memory). */
export const SCRYPT_MAX_WORK_FACTOR = 22

/** Bytes of salt in the stanza. */
const SALT_BYTES = 16

/** scrypt's block size parameter r and parallelism p, fixed by the age format. */
const SCRYPT_R = 8
const SCRYPT_P = 1

/** Bytes of memory scrypt needs per unit of N (128 × r). */
const MEMORY_PER_N = 128 * SCRYPT_R

/** Bytes of the wrapped file key: the key and its Poly1305 tag. */
const WRAPPED_KEY_BYTES = FILE_KEY_BYTES + 16

const LABEL = "age-encryption.org/v1/scrypt"

const DECIMAL = /^[1-9][0-9]*$/

function deriveKey(passphrase: string, salt: Uint8Array, workFactor: number): Promise<Buffer> {
    const n = 2 ** workFactor
    const labelled = Buffer.concat([Buffer.from(LABEL), salt])
    return new Promise((resolve, reject) => {
        scrypt(passphrase, labelled, 32,
            { N: n, r: SCRYPT_R, p: SCRYPT_P, maxmem: 2 * MEMORY_PER_N * n },
            (err, key) => {
                if (err === null) resolve(key)
                else reject(err)
            })
    })
}

/** Encrypts a file key to a passphrase; it must be the file's only recipient. */
export class ScryptRecipient implements Recipient {
    constructor(
        private readonly passphrase: string,
        private readonly workFactor = SCRYPT_ENCRYPT_WORK_FACTOR,
    ) {}

    /** Wraps `fileKey` in one `scrypt` stanza with a fresh salt. */
    async wrapFileKey(fileKey: Uint8Array): Promise<Stanza[]> {
        const salt = randomBytes(SALT_BYTES)
        const key = await deriveKey(this.passphrase, salt, this.workFactor)
        const body = sealFileKey(key, fileKey)
        const args = [SCRYPT_STANZA_TYPE, encodeBase64(salt, false), String(this.workFactor)]
        return [{ args, body }]
    }
}

/**
 * Decrypts `scrypt` stanzas with a passphrase. Returns `null` for a wrong
 * passphrase; throws for a malformed stanza or a work factor above
 * `maxWorkFactor`, before spending any time on it.
 */
export class ScryptIdentity implements Identity {
    constructor(
        private readonly passphrase: string,
        private readonly maxWorkFactor = SCRYPT_MAX_WORK_FACTOR,
    ) {}

    /** Unwraps the file key from the header's `scrypt` stanza, if the passphrase fits. */
    async unwrapFileKey(stanzas: Stanza[]): Promise<Uint8Array | null> {
        for (const stanza of stanzas) {
            if (stanza.args[0] !== SCRYPT_STANZA_TYPE) continue
            if (stanzas.length !== 1) {
                throw new Error("a passphrase (scrypt) stanza must be the only one in the header")
            }
            const { salt, workFactor } = checkScryptStanza(stanza, this.maxWorkFactor)
            const key = await deriveKey(this.passphrase, salt, workFactor)
            return openFileKey(key, stanza.body)
        }
        return null
    }
}

/**
 * Checks a `scrypt` stanza's arguments and body size and returns its salt and
 * work factor; throws an `Error` saying what is wrong.
 */
export function checkScryptStanza(
    stanza: Stanza, maxWorkFactor = SCRYPT_MAX_WORK_FACTOR,
): { salt: Uint8Array, workFactor: number } {
    if (stanza.args.length !== 3) throw new Error("invalid scrypt stanza: wrong argument count")

    const salt = decodeBase64(stanza.args[1] ?? "", false)
    if (salt?.length !== SALT_BYTES) throw new Error("invalid scrypt stanza: bad salt")

    const factor = stanza.args[2] ?? ""
    if (!DECIMAL.test(factor)) throw new Error("invalid scrypt stanza: bad work factor")
    const workFactor = Number(factor)
    if (workFactor > maxWorkFactor) {
        throw new Error(`the scrypt work factor ${factor.length > 4 ? "given" : factor} is above`
            + ` the limit of ${maxWorkFactor}`)
    }

    if (stanza.body.length !== WRAPPED_KEY_BYTES) {
        throw new Error("invalid scrypt stanza: the wrapped file key has the wrong size")
    }
    return { salt, workFactor }
}
