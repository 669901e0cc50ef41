/**
 * SSH private keys as the rest of the SSH code sees them, whatever file format
 * they came from: the key itself, its public key, and the unwrapper that opens
 * the stanzas addressed to it. Also reads the PEM armor that every private key
 * file format shares.
 */
import type { KeyObject } from "node:crypto"

import { UsageError } from "../../errors.js"
import { Ed25519Unwrapper } from "./ed25519.js"
import {
    type Ed25519PublicKey,
    type RsaPublicKey,
    type SshPublicKey,
    ed25519PublicKey,
    rejectKeyType,
    rsaPublicKey,
} from "./public-key.js"
import { RsaUnwrapper } from "./rsa.js"
import { base64UrlToBigint } from "./wire.js"

/** A decrypted SSH private key of a type age supports. */
export type SshPrivateKey =
    | {
        readonly type: "ssh-ed25519"
        readonly publicKey: Ed25519PublicKey
        /** The 32-byte Ed25519 private seed. */
        readonly seed: Uint8Array
    }
    | { readonly type: "ssh-rsa", readonly publicKey: RsaPublicKey, readonly key: KeyObject }

/** Opens the stanzas addressed to one key. */
export type Unwrapper = Ed25519Unwrapper | RsaUnwrapper

/**
 * A parsed private key file. Its public key is known without a passphrase;
 * `open` decrypts the key (the passphrase is ignored for unprotected files).
 */
export interface PrivateKeyFile {
    readonly publicKey: SshPublicKey
    readonly encrypted: boolean
    /**
     * Returns the private key. Throws an `OperationError` naming the file for a
     * wrong passphrase, and a `UsageError` for a file that decrypts but is malformed.
     */
    open(passphrase: string | undefined): SshPrivateKey
}

/** One PEM block: its label (`OPENSSH PRIVATE KEY`), RFC 1421 headers and base64 body. */
export interface PemBlock {
    readonly label: string
    readonly headers: ReadonlyMap<string, string>
    readonly base64: string
}

const BEGIN_LINE = /^-----BEGIN ([A-Z0-9 ]+)-----$/
const HEADER_LINE = /^([A-Za-z0-9-]+):[ \t]*(.*)$/

/** The unwrapper for a decrypted key. */
export function unwrapperOf(key: SshPrivateKey): Unwrapper {
    if (key.type === "ssh-ed25519") return new Ed25519Unwrapper(key.seed, key.publicKey)
    return new RsaUnwrapper(key.key)
}

/**
 * Reads the first PEM block of `text`. A UTF-8 byte-order mark, CRLF line ends
 * and blank lines before the block are accepted; anything after its END line
 * is ignored. Throws a {@link UsageError} naming `file` when there is no block.
 */
export function readPemBlock(text: string, file: string): PemBlock {
    const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/).map((l) => l.trim())
    let i = lines.findIndex((l) => l !== "")
    const label = BEGIN_LINE.exec(lines[i] ?? "")?.[1]
    if (label === undefined) {
        throw new UsageError(`${file} is not a PEM private key file (no BEGIN line)`)
    }

    const end = `-----END ${label}-----`
    const headers = new Map<string, string>()
    const body: string[] = []
    for (i += 1; i < lines.length; i++) {
        const line = lines[i] ?? ""
        if (line === end) return { label, headers, base64: body.join("") }

        const header = body.length === 0 ? HEADER_LINE.exec(line) : null
        if (header === null) body.push(line)
        else headers.set(header[1] ?? "", header[2] ?? "")
    }
    throw new UsageError(`${file} is truncated: its "${end}" line is missing`)
}

/**
 * The SSH view of a private key that node:crypto parsed (PKCS#1 / PKCS#8 PEM).
 * RSA and Ed25519 keys are accepted; other types throw a {@link UsageError}
 * naming the type and `file`.
 */
export function privateKeyFromKeyObject(key: KeyObject, file: string): SshPrivateKey {
    const jwk = key.export({ format: "jwk" })

    if (key.asymmetricKeyType === "rsa" && jwk.n !== undefined && jwk.e !== undefined) {
        const publicKey = rsaPublicKey(base64UrlToBigint(jwk.n), base64UrlToBigint(jwk.e))
        return { type: "ssh-rsa", publicKey, key }
    }

    if (key.asymmetricKeyType === "ed25519" && jwk.d !== undefined && jwk.x !== undefined) {
        const publicKey = ed25519PublicKey(new Uint8Array(Buffer.from(jwk.x, "base64url")))
        const seed = new Uint8Array(Buffer.from(jwk.d, "base64url"))
        return { type: "ssh-ed25519", publicKey, seed }
    }

    return rejectKeyType(sshTypeName(key), file)
}

/** The SSH name of a node:crypto key type, for messages about unusable keys. */
function sshTypeName(key: KeyObject): string {
    if (key.asymmetricKeyType === "dsa") return "ssh-dss"
    if (key.asymmetricKeyType !== "ec") return key.asymmetricKeyType ?? "unknown"

    const curve = key.asymmetricKeyDetails?.namedCurve
    const sshCurve = { prime256v1: "nistp256", secp384r1: "nistp384", secp521r1: "nistp521" }
    const name = curve === undefined ? undefined : sshCurve[curve as keyof typeof sshCurve]
    return name === undefined ? "ecdsa" : `ecdsa-sha2-${name}`
}
