/**
 * File writing for the authoring commands: an encrypted source is replaced by
 * rename, so at every instant it holds the complete old or the complete new
 * bytes, and a new file is created without ever replacing one that appeared
 * meanwhile.
 */
import { constants } from "node:fs"
import { link, open, rename, unlink } from "node:fs/promises"
import { dirname } from "node:path"

import { syncFolder, tempPathFor } from "../fs/atomic.js"

/** Flags of a temporary file: created here and now, never through a symlink. */
const EXCLUSIVE_FLAGS = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY
    | constants.O_NOFOLLOW

/** A file written beside its target, not yet in place. */
export interface StagedFile {
    /** The final path. */
    readonly target: string
    /** Renames the temporary file over the target. */
    commit(): Promise<void>
    /** Removes the temporary file; harmless after a commit. */
    discard(): Promise<void>
}

/**
 * Writes `bytes` to a new temporary file with an unguessable name in the folder
 * of `target` (exclusive, no-follow, created with `mode`), flushed to disk, and
 * returns a handle that renames it into place or discards it. Several files can
 * be staged first and committed only once all were written.
 */
export async function stageFile(
    target: string, bytes: Uint8Array, mode: number,
): Promise<StagedFile> {
    const temp = tempPathFor(target)
    await writeNew(temp, bytes, mode)

    let committed = false
    return {
        target,
        commit: async () => {
            await rename(temp, target)
            committed = true
            await syncFolder(dirname(target))
        },
        discard: async () => {
            if (committed) return
            await unlink(temp).catch(() => undefined)
        },
    }
}

/**
 * Replaces `target` with `bytes` by temporary file and rename in the same
 * folder: a failure at any point leaves the old file intact (and no temporary
 * file behind).
 */
export async function replaceFile(target: string, bytes: Uint8Array, mode: number): Promise<void> {
    const staged = await stageFile(target, bytes, mode)
    try {
        await staged.commit()
    } finally {
        await staged.discard()
    }
}

/**
 * Creates `target` holding `bytes` with `mode`, complete or not at all, and
 * never over an existing file: the content is written to a temporary file that
 * is then hard-linked to the target. Throws an error with code `EEXIST` when the
 * target exists.
 */
export async function createFileNoClobber(
    target: string, bytes: Uint8Array, mode: number,
): Promise<void> {
    const staged = tempPathFor(target)
    await writeNew(staged, bytes, mode)

    try {
        await link(staged, target)
        await syncFolder(dirname(target))
    } finally {
        await unlink(staged).catch(() => undefined)
    }
}

/**
 * Creates `path` exclusively (never through a symlink) with `mode` from the start,
 * writes `bytes` and flushes them. A partly written file is removed.
 */
export async function writeNew(path: string, bytes: Uint8Array, mode: number): Promise<void> {
    const handle = await open(path, EXCLUSIVE_FLAGS, mode)
    try {
        await handle.writeFile(bytes)
        await handle.sync()
        await handle.close()
    } catch (err) {
        await handle.close().catch(() => undefined)
        await unlink(path).catch(() => undefined)
        throw err
    }
}
