/**
 * Keyed hashes of written plaintext, so that cleanup and status can tell
 * whether a copy is still what homeage wrote after the secret itself is gone.
 *
 * Why keyed: a plain SHA-256 of a short secret (a PIN, a 20-character token)
 * can be brute-forced by anyone who reads a manifest, for example from a
 * backup of the state dir. An HMAC-SHA256 under a random 256-bit key kept in
 * its own file (mode 0600) reveals nothing about the plaintext without that
 * key. The key never leaves the state dir and is never logged.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import { readFile } from "node:fs/promises"

import { OperationError, errnoOf } from "../errors.js"
import { writeFileAtomic } from "../fs/atomic.js"
import { fsReason } from "../fs/errno.js"

/** Length of the hash key (bytes: 256 bits). */
const KEY_BYTES = 32

/** Mode of the key file: readable by the user only. */
const KEY_MODE = 0o600

/** Prefix naming the algorithm in stored hashes, so it can change later. */
const ALGORITHM = "hmac-sha256:"

/** A key for {@link keyedHash}. */
export type HashKey = Uint8Array

/** Reads the hash key at `file`; `undefined` when there is none yet. */
export async function readHashKey(file: string): Promise<HashKey | undefined> {
    let key: Buffer
    try {
        key = await readFile(file)
    } catch (err) {
        if (errnoOf(err) === "ENOENT") return undefined
        throw new OperationError(`cannot read the hash key ${file}: ${fsReason(err, file)}`,
            { cause: err })
    }

    if (key.length !== KEY_BYTES) {
        throw new OperationError(`the hash key ${file} is damaged (${key.length} bytes, ` +
            `expected ${KEY_BYTES}); remove it and run homeage activate`)
    }
    return key
}

/** Reads the hash key at `file`, creating a random one (mode 0600) if there is none. */
export async function ensureHashKey(file: string): Promise<HashKey> {
    const existing = await readHashKey(file)
    if (existing !== undefined) return existing

    const key = randomBytes(KEY_BYTES)
    await writeFileAtomic(file, key, KEY_MODE)
    return key
}

/** The keyed hash of `data`, as `hmac-sha256:<hex>`. */
export function keyedHash(key: HashKey, data: Uint8Array): string {
    return ALGORITHM + createHmac("sha256", key).update(data).digest("hex")
}

/** Whether `data` has the keyed hash `expected` (compared in constant time). */
export function hashMatches(key: HashKey, data: Uint8Array, expected: string): boolean {
    return new KeyedHasher(key).update(data).matches(expected)
}

/** {@link keyedHash} of data given piece by piece (a file read in chunks). */
export class KeyedHasher {
    private readonly hmac: ReturnType<typeof createHmac>

    constructor(key: HashKey) {
        this.hmac = createHmac("sha256", key)
    }

    /** Adds the next piece. */
    update(piece: Uint8Array): this {
        this.hmac.update(piece)
        return this
    }

    /** Whether the pieces so far have the keyed hash `expected` (constant time); call once. */
    matches(expected: string): boolean {
        const actual = Buffer.from(ALGORITHM + this.hmac.digest("hex"))
        const wanted = Buffer.from(expected)
        return actual.length === wanted.length && timingSafeEqual(actual, wanted)
    }
}
