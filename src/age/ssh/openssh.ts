/**
 * OpenSSH private key files (`openssh-key-v1`, the format of `ssh-keygen`
 * since OpenSSH 7.8), unprotected or passphrase-protected with bcrypt-pbkdf
 * and AES in CTR or CBC mode. Layout: magic, cipher name, KDF name, KDF
 * options, key count (always 1), public key, then the private section:
 * two equal check integers, the key, its comment and padding bytes 1, 2, 3….
 */
import { createDecipheriv, createPrivateKey } from "node:crypto"
import { createRequire } from "node:module"

import type bcryptPbkdfModule from "bcrypt-pbkdf"

import { OperationError, UsageError } from "../../errors.js"
import { ed25519PublicKeyOfSeed } from "./ed25519.js"
import type { PrivateKeyFile, SshPrivateKey } from "./keys.js"
import { type SshPublicKey, parsePublicKeyBlob, rsaPublicKey, samePublicKey } from "./public-key.js"
import { WireFormatError, WireReader, bigintToBase64Url, decodeBase64Strict } from "./wire.js"

/**
 * The bcrypt-pbkdf package (CommonJS), loaded on the first protected key only:
 * most runs never open one.
 */
function bcryptPbkdf(): typeof bcryptPbkdfModule {
    const require = createRequire(import.meta.url)
    return require("bcrypt-pbkdf") as typeof bcryptPbkdfModule
}

/** The PEM label of OpenSSH private key files. */
export const OPENSSH_PEM_LABEL = "OPENSSH PRIVATE KEY"

const MAGIC = new TextEncoder().encode("openssh-key-v1\0")

/** Size of an Ed25519 public key and of its private key (seed + public key), in bytes. */
const ED25519_PUBLIC_BYTES = 32
const ED25519_PRIVATE_BYTES = 64

/** The ciphers OpenSSH protects keys with that we can open: name -> node cipher, sizes. */
const CIPHERS: Readonly<Record<string, { node: string, keyBytes: number, ivBytes: number }>> = {
    "aes256-ctr": { node: "aes-256-ctr", keyBytes: 32, ivBytes: 16 },
    "aes192-ctr": { node: "aes-192-ctr", keyBytes: 24, ivBytes: 16 },
    "aes128-ctr": { node: "aes-128-ctr", keyBytes: 16, ivBytes: 16 },
    "aes256-cbc": { node: "aes-256-cbc", keyBytes: 32, ivBytes: 16 },
    "aes192-cbc": { node: "aes-192-cbc", keyBytes: 24, ivBytes: 16 },
    "aes128-cbc": { node: "aes-128-cbc", keyBytes: 16, ivBytes: 16 },
}

/** AES block size, the padding unit of an encrypted private section, in bytes. */
const AES_BLOCK_BYTES = 16

/**
 * Most bcrypt-pbkdf rounds a protected key may ask for (ssh-keygen writes 16
 * unless given `-a`). The count comes from the file and the derivation runs
 * synchronously, so a damaged or hostile count (up to 2^32 - 1) would block
 * the process for days; 1024 rounds already take tens of seconds here.
 */
const MAX_BCRYPT_ROUNDS = 1024

/**
 * Parses an OpenSSH private key file from the base64 body of its PEM block.
 * The public key and the protection are read now; the private section is
 * decrypted and checked only by `open`. Throws a {@link UsageError} naming
 * `file` for a malformed file, a key type age cannot use (naming the type), or
 * a cipher or KDF we cannot open.
 */
export function parseOpenSshKey(base64: string, file: string): PrivateKeyFile {
    const blob = decodeBase64Strict(base64, true)
    if (blob === undefined) throw new UsageError(`${file} is malformed: its body is not base64`)

    try {
        return parseEnvelope(blob, file)
    } catch (err) {
        if (!(err instanceof WireFormatError)) throw err
        throw new UsageError(`${file} is a malformed OpenSSH private key (${err.message})`,
            { cause: err })
    }
}

function parseEnvelope(blob: Uint8Array, file: string): PrivateKeyFile {
    const reader = new WireReader(blob)
    if (!Buffer.from(reader.readBytes(MAGIC.length)).equals(MAGIC)) {
        throw new WireFormatError("the openssh-key-v1 magic is missing")
    }

    const cipherName = reader.readName()
    const kdfName = reader.readName()
    const kdfOptions = reader.readString()
    const keyCount = reader.readUint32()
    if (keyCount !== 1) throw new WireFormatError(`it holds ${keyCount} keys, not 1`)
    const publicBlob = reader.readString()
    const privateSection = reader.readString()
    reader.expectEnd()

    const publicKey = parsePublicKeyBlob(publicBlob, file)

    if (cipherName === "none") {
        if (kdfName !== "none" || kdfOptions.length !== 0) {
            throw new WireFormatError("an unencrypted key has KDF options")
        }
        return {
            publicKey,
            encrypted: false,
            open: () => parsePrivateSection(privateSection, publicKey, file, false),
        }
    }

    const cipher = CIPHERS[cipherName]
    if (cipher === undefined) {
        throw new UsageError(`${file} is protected with the cipher ${cipherName}, which homeage ` +
            `cannot open; re-protect it with "ssh-keygen -p -Z aes256-ctr -f ${file}"`)
    }
    if (kdfName !== "bcrypt") {
        throw new UsageError(`${file} is protected with the key derivation ${kdfName}, which ` +
            "homeage cannot use; only bcrypt (the ssh-keygen default) is supported")
    }

    const options = new WireReader(kdfOptions)
    const salt = options.readString()
    const rounds = options.readUint32()
    options.expectEnd()
    if (salt.length === 0 || rounds === 0) {
        throw new WireFormatError("the bcrypt options are invalid")
    }
    if (rounds > MAX_BCRYPT_ROUNDS) {
        throw new UsageError(`${file} asks for ${rounds} bcrypt rounds, more than homeage ` +
            `accepts (${MAX_BCRYPT_ROUNDS}); if it is your key, re-protect it with ` +
            `"ssh-keygen -p -a 100 -f ${file}"`)
    }
    if (privateSection.length % AES_BLOCK_BYTES !== 0) {
        throw new WireFormatError("the private section is not a whole number of AES blocks")
    }

    return {
        publicKey,
        encrypted: true,
        open: (passphrase) => {
            const pass = new TextEncoder().encode(passphrase ?? "")
            if (pass.length === 0) throw incorrectPassphrase(file)

            const derived = new Uint8Array(cipher.keyBytes + cipher.ivBytes)
            const status = bcryptPbkdf().pbkdf(pass, pass.length, salt, salt.length, derived,
                derived.length, rounds)
            if (status !== 0) throw new UsageError(`${file} has bcrypt options that cannot be used`)
            const decipher = createDecipheriv(cipher.node, derived.subarray(0, cipher.keyBytes),
                derived.subarray(cipher.keyBytes))
            decipher.setAutoPadding(false)
            const plain = Buffer.concat([decipher.update(privateSection), decipher.final()])

            return parsePrivateSection(plain, publicKey, file, true)
        },
    }
}

function incorrectPassphrase(file: string): OperationError {
    return new OperationError(`incorrect passphrase for ${file}; no secret was decrypted ` +
        "with it. Run again and type the key's passphrase")
}

/**
 * Reads the private section. Unequal check integers mean a wrong passphrase
 * when `encrypted`, and a corrupt file otherwise.
 */
function parsePrivateSection(
    section: Uint8Array,
    publicKey: SshPublicKey,
    file: string,
    encrypted: boolean,
): SshPrivateKey {
    const reader = new WireReader(section)
    try {
        const check1 = reader.readUint32()
        const check2 = reader.readUint32()
        if (check1 !== check2 && encrypted) throw incorrectPassphrase(file)
        if (check1 !== check2) throw new WireFormatError("the check integers differ")

        const key = readPrivateKey(reader, publicKey)
        reader.readString()
        checkPadding(reader.rest())
        return key
    } catch (err) {
        if (!(err instanceof WireFormatError)) throw err
        throw new UsageError(`${file} is a malformed OpenSSH private key (${err.message})`,
            { cause: err })
    }
}

function readPrivateKey(reader: WireReader, publicKey: SshPublicKey): SshPrivateKey {
    const type = reader.readName()
    if (type !== publicKey.type) {
        throw new WireFormatError(`the private key is ${type} but the public key ${publicKey.type}`)
    }

    if (publicKey.type === "ssh-ed25519") {
        const pub = reader.readString()
        const priv = reader.readString()
        if (pub.length !== ED25519_PUBLIC_BYTES || priv.length !== ED25519_PRIVATE_BYTES) {
            throw new WireFormatError("the ssh-ed25519 key has the wrong size")
        }

        const seed = new Uint8Array(priv.subarray(0, ED25519_PUBLIC_BYTES))
        const derived = ed25519PublicKeyOfSeed(seed)
        const consistent = Buffer.from(pub).equals(priv.subarray(ED25519_PUBLIC_BYTES)) &&
            samePublicKey(derived, publicKey)
        if (!consistent) throw new WireFormatError("the private and public keys do not match")
        return { type: "ssh-ed25519", publicKey, seed }
    }

    const n = reader.readMpint()
    const e = reader.readMpint()
    const d = reader.readMpint()
    const iqmp = reader.readMpint()
    const p = reader.readMpint()
    const q = reader.readMpint()
    if (p < 2n || q < 2n || p * q !== n || !samePublicKey(rsaPublicKey(n, e), publicKey)) {
        throw new WireFormatError("the private and public keys do not match")
    }

    const key = createPrivateKey({
        key: {
            kty: "RSA",
            n: bigintToBase64Url(n),
            e: bigintToBase64Url(e),
            d: bigintToBase64Url(d),
            p: bigintToBase64Url(p),
            q: bigintToBase64Url(q),
            dp: bigintToBase64Url(d % (p - 1n)),
            dq: bigintToBase64Url(d % (q - 1n)),
            qi: bigintToBase64Url(iqmp),
        },
        format: "jwk",
    })
    return { type: "ssh-rsa", publicKey, key }
}

/** The section ends with padding bytes 1, 2, 3…; anything else means a corrupt file. */
function checkPadding(padding: Uint8Array): void {
    if (!padding.every((b, i) => b === i + 1)) {
        throw new WireFormatError("the padding bytes are not 1, 2, 3…")
    }
}
