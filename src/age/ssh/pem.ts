/**
 * PEM private keys as OpenSSL writes them: PKCS#1 (`RSA PRIVATE KEY`) and
 * PKCS#8 (`PRIVATE KEY`), parsed by node:crypto. Passphrase-protected PEM
 * keys (a `Proc-Type: 4,ENCRYPTED` header, or `ENCRYPTED PRIVATE KEY`) do not
 * reveal their public key, so, as Go age does, it is read from FILE.pub.
 */
import { createPrivateKey } from "node:crypto"
import type { KeyObject } from "node:crypto"

import { OperationError, UsageError } from "../../errors.js"
import { type PemBlock, type PrivateKeyFile, privateKeyFromKeyObject } from "./keys.js"
import { parsePublicKeyLine, rejectKeyType, samePublicKey } from "./public-key.js"

/** PEM labels of key types age cannot use, with the type to name in the message. */
const UNSUPPORTED_LABELS: Readonly<Record<string, string>> = {
    "EC PRIVATE KEY": "ecdsa",
    "DSA PRIVATE KEY": "ssh-dss",
}

/** PEM labels of the private key formats this module reads. */
const SUPPORTED_LABELS = new Set(["RSA PRIVATE KEY", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY"])

/**
 * Parses a PEM private key file. `text` is the whole file and `block` its
 * first PEM block; `publicKeyText` is the content of FILE.pub, needed only
 * when the key is passphrase-protected. Throws a {@link UsageError} naming
 * `file` for other key types, malformed files, or a protected key without
 * FILE.pub.
 */
export function parsePemKey(
    text: string,
    block: PemBlock,
    file: string,
    publicKeyText: string | undefined,
): PrivateKeyFile {
    const pem = text.replace(/^\uFEFF/, "").replace(/\r\n/g, "\n")
    const encrypted = block.label === "ENCRYPTED PRIVATE KEY" ||
        (block.headers.get("Proc-Type") ?? "").includes("ENCRYPTED")

    const unsupported = UNSUPPORTED_LABELS[block.label]
    if (unsupported !== undefined) {
        // Parsing the key, when possible, lets the message name the exact type (the curve).
        const keyObject = encrypted ? undefined : parseUnprotected(pem, file)
        if (keyObject !== undefined) privateKeyFromKeyObject(keyObject, file)
        rejectKeyType(unsupported, file)
    }
    if (!SUPPORTED_LABELS.has(block.label)) {
        throw new UsageError(`${file} holds a "${block.label}", not an SSH private key`)
    }

    if (encrypted) return encryptedPemKey(pem, file, publicKeyText)

    const key = privateKeyFromKeyObject(parseUnprotected(pem, file), file)
    return { publicKey: key.publicKey, encrypted: false, open: () => key }
}

function parseUnprotected(pem: string, file: string): KeyObject {
    try {
        return createPrivateKey({ key: pem, format: "pem" })
    } catch (err) {
        throw new UsageError(`${file} is a malformed PEM private key`, { cause: err })
    }
}

function encryptedPemKey(
    pem: string,
    file: string,
    publicKeyText: string | undefined,
): PrivateKeyFile {
    if (publicKeyText === undefined) {
        throw new UsageError(`${file} is a passphrase-protected PEM key, whose public key can ` +
            `only be read from ${file}.pub, which does not exist. Recreate it with ` +
            `"ssh-keygen -y -f ${file} > ${file}.pub", or convert the key to the OpenSSH ` +
            `format with "ssh-keygen -p -f ${file}"`)
    }

    const line = publicKeyText.split(/\r?\n/).find((l) => l.trim() !== "" && !l.startsWith("#"))
    let publicKey
    try {
        publicKey = parsePublicKeyLine(line ?? "")
    } catch (err) {
        if (!(err instanceof UsageError)) throw err
        throw new UsageError(`${file}.pub: ${err.message}`, { cause: err })
    }

    return {
        publicKey,
        encrypted: true,
        open: (passphrase) => {
            let keyObject: KeyObject
            try {
                keyObject = createPrivateKey({
                    key: pem,
                    format: "pem",
                    passphrase: passphrase ?? "",
                })
            } catch (err) {
                throw new OperationError(`incorrect passphrase for ${file}, or the file is ` +
                    "damaged; no secret was decrypted with it", { cause: err })
            }

            const key = privateKeyFromKeyObject(keyObject, file)
            if (!samePublicKey(key.publicKey, publicKey)) {
                throw new UsageError(`${file}.pub is not the public key of ${file}; recreate ` +
                    `it with "ssh-keygen -y -f ${file} > ${file}.pub"`)
            }
            return key
        },
    }
}
