/**
 * The content-addressed store: encrypted sources, still encrypted, named by
 * the SHA-256 of their bytes. A generation refers to its sources by hash, so
 * `start`, `rollback` and cleanup never need the dotfiles checkout.
 */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { readdir, rm } from "node:fs/promises"
import { join } from "node:path"

import { OperationError, errnoOf } from "../errors.js"
import { writeFileAtomic } from "../fs/atomic.js"
import { fsReason } from "../fs/errno.js"
import { inspectPath } from "../fs/inspect.js"

/** Mode of store files: the user's only, read-only. */
const STORE_FILE_MODE = 0o400

/** Suffix of store files. */
const STORE_SUFFIX = ".age"

/** The SHA-256 of `data` as lowercase hex: a store name. */
export function sha256Hex(data: Uint8Array): string {
    return createHash("sha256").update(data).digest("hex")
}

/** The path of the store file holding the source with hash `hash`. */
export function storePath(storeDir: string, hash: string): string {
    return join(storeDir, `${hash}${STORE_SUFFIX}`)
}

/**
 * Puts an encrypted source into the store and returns its hash. A file that
 * is already there is kept when its bytes still match its name, and replaced
 * when they do not (a damaged store file is repaired by the next activation).
 */
export async function putSource(storeDir: string, ciphertext: Uint8Array): Promise<string> {
    const hash = sha256Hex(ciphertext)
    const path = storePath(storeDir, hash)
    if (inspectPath(path).kind === "file" && intact(storeDir, hash)) return hash

    await writeFileAtomic(path, ciphertext, STORE_FILE_MODE)
    return hash
}

/** Whether the store file of `hash` is there, readable and undamaged. */
function intact(storeDir: string, hash: string): boolean {
    try {
        readSource(storeDir, hash)
        return true
    } catch {
        return false
    }
}

/**
 * Reads the source with hash `hash` from the store and verifies its bytes.
 * Throws an `OperationError` when it is missing or damaged. Synchronous: a
 * login reads every source of the generation, and each is small.
 */
export function readSource(storeDir: string, hash: string): Uint8Array {
    const path = storePath(storeDir, hash)
    let data: Buffer
    try {
        data = readFileSync(path)
    } catch (err) {
        const why = errnoOf(err) === "ENOENT" ? "is missing"
            : `cannot be read: ${fsReason(err, path)}`
        throw new OperationError(`the stored source ${path} ${why}; ` +
            "run homeage activate from your config to store it again", { cause: err })
    }

    if (sha256Hex(data) !== hash) {
        throw new OperationError(`the stored source ${path} is damaged (its hash does not ` +
            "match its name); run homeage activate from your config to store it again")
    }
    return data
}

/** Removes store files whose hash is not in `keep`; returns the removed hashes. */
export async function pruneStore(storeDir: string, keep: ReadonlySet<string>): Promise<string[]> {
    let names: string[]
    try {
        names = await readdir(storeDir)
    } catch (err) {
        if (errnoOf(err) === "ENOENT") return []
        throw new OperationError(`cannot read the store ${storeDir}: ${fsReason(err, storeDir)}`,
            { cause: err })
    }

    const removed: string[] = []
    for (const name of names) {
        if (!name.endsWith(STORE_SUFFIX)) continue
        const hash = name.slice(0, -STORE_SUFFIX.length)
        if (keep.has(hash)) continue
        await rm(join(storeDir, name), { force: true })
        removed.push(hash)
    }
    return removed
}
