/**
 * SSH public keys: parsing authorized_keys-style lines and wire blobs, the
 * canonical wire encoding, and the 4-byte tag age writes in ssh-ed25519 and
 * ssh-rsa stanzas so an identity can tell which stanza is its own.
 */
import { createHash } from "node:crypto"

import { UsageError } from "../../errors.js"
import { concat } from "../format.js"
import {
    WireFormatError,
    WireReader,
    decodeBase64Strict,
    encodeBase64,
    wireMpint,
    wireString,
} from "./wire.js"

/** The SSH key types age can encrypt to and decrypt with. */
export type SshKeyType = "ssh-ed25519" | "ssh-rsa"

/** An ssh-ed25519 public key: the 32-byte Edwards point. */
export interface Ed25519PublicKey {
    readonly type: "ssh-ed25519"
    readonly key: Uint8Array
    /** The canonical SSH wire encoding (`string type, string key`). */
    readonly wire: Uint8Array
}

/** An ssh-rsa public key: modulus and public exponent. */
export interface RsaPublicKey {
    readonly type: "ssh-rsa"
    readonly n: bigint
    readonly e: bigint
    /** The canonical SSH wire encoding (`string type, mpint e, mpint n`). */
    readonly wire: Uint8Array
}

/** A public key of a type age supports. */
export type SshPublicKey = Ed25519PublicKey | RsaPublicKey

/** Bytes of SHA-256 kept in a stanza's key tag. */
const TAG_BYTES = 4

/** Largest RSA public exponent accepted, as OpenSSH and Go accept (24 bits). */
const MAX_RSA_EXPONENT = 1n << 24n

/** Size of an Ed25519 public key, in bytes. */
const ED25519_PUBLIC_KEY_BYTES = 32

/**
 * Key type names that are SSH keys but that age cannot use, with the words a
 * user knows them by. A line or file of these types gets a message naming it.
 */
const UNSUPPORTED_TYPES =
    /^(?:ssh-dss|ecdsa|ecdsa-sha2-\S+|sk-\S+@openssh\.com|\S+-cert-v01@openssh\.com)$/

const PUBLIC_KEY_LINE =
    /^(?:ssh-|ecdsa-|sk-)[A-Za-z0-9.@-]+[ \t]+AAAA[A-Za-z0-9+/]*={0,2}(?:[ \t]|$)/

/**
 * The tag of a key: the first 4 bytes of SHA-256 of its wire encoding, in
 * unpadded base64, as age writes after the stanza type.
 */
export function keyTag(wire: Uint8Array): string {
    const digest = createHash("sha256").update(wire).digest()
    return encodeBase64(digest.subarray(0, TAG_BYTES), false)
}

/** Builds an ssh-ed25519 public key from its 32 raw bytes. */
export function ed25519PublicKey(key: Uint8Array): Ed25519PublicKey {
    const wire = concat([wireString("ssh-ed25519"), wireString(key)])
    return { type: "ssh-ed25519", key, wire }
}

/** Builds an ssh-rsa public key from its modulus and exponent. */
export function rsaPublicKey(n: bigint, e: bigint): RsaPublicKey {
    const wire = concat([wireString("ssh-rsa"), wireMpint(e), wireMpint(n)])
    return { type: "ssh-rsa", n, e, wire }
}

/**
 * Whether `line` is an SSH public key line (`TYPE AAAA… [comment]`) of any
 * type, so that callers can say "that is a public key" instead of a vaguer
 * parse error. It checks the shape only, not the key inside.
 */
export function isSshPublicKeyLine(line: string): boolean {
    return PUBLIC_KEY_LINE.test(line.trim())
}

/** The authorized_keys-style line of a key: `TYPE BASE64`, without a comment. */
export function formatPublicKeyLine(key: SshPublicKey): string {
    return `${key.type} ${encodeBase64(key.wire, true)}`
}

/**
 * Throws a {@link UsageError} for SSH key types age cannot use, naming the
 * type. `subject` says what had that type ("the SSH public key", a file name).
 */
export function rejectKeyType(type: string, subject: string): never {
    if (UNSUPPORTED_TYPES.test(type)) {
        throw new UsageError(`${subject} is an ${type} key, which age cannot use; ` +
            "use an ssh-ed25519 or ssh-rsa key, or an age1 recipient")
    }
    throw new UsageError(`${subject} has the unknown SSH key type ${JSON.stringify(type)}; ` +
        "only ssh-ed25519 and ssh-rsa keys can be used")
}

/**
 * Parses an SSH public key from its wire encoding. Only ssh-ed25519 and
 * ssh-rsa keys are returned; other types throw a {@link UsageError} naming the
 * type, and a malformed blob one naming `subject`. Messages never hold key bytes.
 */
export function parsePublicKeyBlob(blob: Uint8Array, subject: string): SshPublicKey {
    const reader = new WireReader(blob)
    let type: string
    try {
        type = reader.readName()
    } catch (err) {
        throw new UsageError(`${subject} is malformed: its key type cannot be read`, { cause: err })
    }

    if (type !== "ssh-ed25519" && type !== "ssh-rsa") rejectKeyType(type, subject)

    try {
        return type === "ssh-ed25519" ? readEd25519(reader) : readRsa(reader)
    } catch (err) {
        const reason = err instanceof WireFormatError ? err.message : "invalid field"
        throw new UsageError(`${subject} is a malformed ${type} key (${reason})`, { cause: err })
    }
}

function readEd25519(reader: WireReader): Ed25519PublicKey {
    const key = reader.readString()
    reader.expectEnd()
    if (key.length !== ED25519_PUBLIC_KEY_BYTES) {
        throw new WireFormatError(`the key is ${key.length} bytes, not 32`)
    }
    return ed25519PublicKey(new Uint8Array(key))
}

function readRsa(reader: WireReader): RsaPublicKey {
    const e = reader.readMpint()
    const n = reader.readMpint()
    reader.expectEnd()
    checkRsaExponent(e)
    return rsaPublicKey(n, e)
}

/** Throws {@link WireFormatError} for an RSA public exponent OpenSSH would refuse. */
export function checkRsaExponent(e: bigint): void {
    if (e >= MAX_RSA_EXPONENT) throw new WireFormatError("the public exponent is too large")
    if (e < 3n || e % 2n === 0n) throw new WireFormatError("the public exponent is invalid")
}

/**
 * Parses an authorized_keys-style line, `TYPE BASE64 [comment]`, into a public
 * key of a type age supports. Options before the type (`from="…" ssh-…`) are
 * not accepted. Throws a {@link UsageError} that names the key type when it is
 * one age cannot use, and never quotes the line.
 */
export function parsePublicKeyLine(line: string): SshPublicKey {
    const fields = line.trim().split(/[ \t]+/)
    const type = fields[0] ?? ""
    const data = fields[1]
    if (!isSshPublicKeyLine(line) || data === undefined) {
        throw new UsageError("not an SSH public key line; expected \"ssh-ed25519 AAAA…\" " +
            "or \"ssh-rsa AAAA…\"")
    }

    if (type !== "ssh-ed25519" && type !== "ssh-rsa") rejectKeyType(type, "the SSH public key")

    const blob = decodeBase64Strict(data, true)
    if (blob === undefined) {
        throw new UsageError(`the ${type} public key is not valid base64`)
    }

    const key = parsePublicKeyBlob(blob, `the ${type} public key`)
    if (key.type !== type) {
        throw new UsageError(`the SSH public key line says ${type} but holds a ${key.type} key`)
    }
    return key
}

/** Whether two public keys are the same key (same canonical wire encoding). */
export function samePublicKey(a: SshPublicKey, b: SshPublicKey): boolean {
    return Buffer.from(a.wire).equals(b.wire)
}
