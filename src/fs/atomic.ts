/**
 * Atomic replacement of files and symlinks. A reader of a target path sees
 * either its complete old content or its complete new content, never a partial
 * or empty file: new content goes to an unguessable temp name in the same
 * folder and is renamed over the target (SPEC §5.3, §7).
 *
 * The steps on one file use the synchronous calls: a login writes a file and
 * a symlink per secret, and each promise-based call costs a round trip
 * through the thread pool that is longer than the call itself. Signals are
 * still handled before a rename (see {@link writeFileAtomic}).
 */
import { randomBytes } from "node:crypto"
import {
    closeSync, constants, fchmodSync, fchownSync, fsyncSync, openSync, renameSync, rmSync,
    symlinkSync, writeSync,
} from "node:fs"
import { lstat, open, readdir, rm } from "node:fs/promises"
import { setImmediate as nextTurn } from "node:timers/promises"
import { basename, dirname, join } from "node:path"

import { OperationError, errnoOf } from "../errors.js"
import { fsReason } from "./errno.js"
import { InterruptedError, throwIfInterrupted, trackTemp, untrackTemp } from "./interrupt.js"
import { mapAll } from "./pool.js"

/** Name prefix of every temp file homeage makes, so leftovers of a crash are recognized. */
export const TEMP_PREFIX = ".homeage-tmp-"

/** Random bytes in a temp name (128 bits, hex encoded), so the name cannot be guessed. */
const TEMP_NAME_BYTES = 16

/** Permission bits of a mode (no file type bits). */
const PERMISSION_BITS = 0o7777

/** How a new file is to be owned; `undefined` keeps the running user's ids. */
export interface Ownership {
    uid?: number | undefined
    gid?: number | undefined
}

/** Options of {@link writeFileAtomic} and {@link replaceWithSymlink}. */
export interface AtomicOptions {
    /**
     * Whether to fsync the target's folder after the rename (default true).
     * A caller that replaces many paths in the same folders passes false and
     * calls {@link syncFoldersOf} once for all of them before it reports
     * success: the rename is atomic either way, only its durability waits.
     */
    syncFolder?: boolean
}

/**
 * Temp names whose random bytes are drawn from OpenSSL at once: one call for
 * many names instead of one each, which counts when a login writes a
 * thousand secrets. Each name still has its own {@link TEMP_NAME_BYTES}
 * random bytes, never used twice (they are zeroed once taken).
 */
const TEMP_NAMES_PER_DRAW = 256

/** Random bytes for the next temp names, and how many of them are taken. */
const namePool = { bytes: Buffer.alloc(0), taken: 0 }

/** A fresh temp path beside `target`, in the same folder so that rename is atomic. */
export function tempPathFor(target: string): string {
    if (namePool.taken + TEMP_NAME_BYTES > namePool.bytes.length) {
        namePool.bytes = randomBytes(TEMP_NAME_BYTES * TEMP_NAMES_PER_DRAW)
        namePool.taken = 0
    }
    const start = namePool.taken
    const random = namePool.bytes.toString("hex", start, start + TEMP_NAME_BYTES)
    namePool.bytes.fill(0, start, start + TEMP_NAME_BYTES)
    namePool.taken += TEMP_NAME_BYTES
    return join(dirname(target), `${TEMP_PREFIX}${random}`)
}

/**
 * Writes `data` to `target` atomically with exactly `mode` and the given
 * ownership. The temp file is created exclusively and without following
 * symlinks, its mode and owner are set on the open descriptor before any byte
 * is written (so the umask cannot widen or narrow it), it is fsynced, renamed
 * over `target`, and the folder is fsynced (unless `options.syncFolder` is
 * false: see {@link AtomicOptions}). On failure, or when a signal
 * arrived while writing (see interrupt.ts), the temp file is removed and
 * `target` keeps its old content; the error names `target`, the reason and
 * the fix.
 */
export async function writeFileAtomic(
    target: string, data: Uint8Array, mode: number, owner: Ownership = {},
    options: AtomicOptions = {},
): Promise<void> {
    const temp = tempPathFor(target)
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL
        | constants.O_NOFOLLOW
    let fd: number | undefined
    try {
        fd = openSync(temp, flags, mode & PERMISSION_BITS)
        trackTemp(temp)
    } catch (err) {
        throw new OperationError(`cannot create a file in ${dirname(target)}: ` +
            `${fsReason(err, dirname(target))}; ${keptNote(target)}`, { cause: err })
    }

    try {
        if (owner.uid !== undefined || owner.gid !== undefined) {
            fchownSync(fd, owner.uid ?? -1, owner.gid ?? -1)
        }
        fchmodSync(fd, mode & PERMISSION_BITS)
        for (let at = 0; at < data.length;) at += writeSync(fd, data, at, data.length - at)
        fsyncSync(fd)
        closeSync(fd)
        fd = undefined
        // A signal that arrived while writing is handled at the next turn of
        // the event loop: take that turn, so it stops the rename.
        await nextTurn()
        throwIfInterrupted()
        renameSync(temp, target)
        untrackTemp(temp)
    } catch (err) {
        if (fd !== undefined) closeQuietly(fd)
        removeQuietly(temp)
        untrackTemp(temp)
        if (err instanceof InterruptedError) throw err
        throw new OperationError(`cannot write ${target}: ${fsReason(err, target)}; ` +
            keptNote(target), { cause: err })
    }

    if (options.syncFolder !== false) await syncFolder(dirname(target))
}

function closeQuietly(fd: number): void {
    try {
        closeSync(fd)
    } catch {
        // Already closed, or failing to: the error that matters is being reported.
    }
}

/** Removes a temp file or symlink of this run, if there; failing to is not reported. */
function removeQuietly(temp: string): void {
    try {
        rmSync(temp, { force: true })
    } catch {
        // The sweep of the next run under the lock removes it (see removeLeftoverTemps).
    }
}

/** What a failed write left at `target`, for its message. */
function keptNote(target: string): string {
    return `${target} keeps its old content (if it had any)`
}

/**
 * Makes `linkPath` a symlink to `linkTarget` by creating a temp symlink beside
 * it and renaming it over, so the path never goes missing (never
 * unlink-then-create). The folder is fsynced afterwards unless
 * `options.syncFolder` is false (see {@link AtomicOptions}).
 */
export async function replaceWithSymlink(
    linkPath: string, linkTarget: string, options: AtomicOptions = {},
): Promise<void> {
    const temp = tempPathFor(linkPath)
    try {
        throwIfInterrupted()
        symlinkSync(linkTarget, temp)
        trackTemp(temp)
        renameSync(temp, linkPath)
        untrackTemp(temp)
    } catch (err) {
        removeQuietly(temp)
        untrackTemp(temp)
        if (err instanceof InterruptedError) throw err
        throw new OperationError(`cannot make symlink ${linkPath}: ` +
            `${fsReason(err, linkPath)}; ${keptNote(linkPath)}`, { cause: err })
    }

    if (options.syncFolder !== false) await syncFolder(dirname(linkPath))
}

/**
 * Fsyncs a folder so that a rename or unlink in it survives a crash. Folders
 * that cannot be opened for reading are skipped: durability is best effort there.
 */
export async function syncFolder(folder: string): Promise<void> {
    try {
        const handle = await open(folder, constants.O_RDONLY | constants.O_DIRECTORY)
        try {
            await handle.sync()
        } finally {
            await handle.close()
        }
    } catch {
        return
    }
}

/**
 * Fsyncs each distinct folder of `paths` once (the folders the paths are in,
 * not the paths): what a batch of replacements made with `syncFolder: false`
 * needs before its caller reports success or records the batch as done.
 * Best effort per folder, as {@link syncFolder}.
 */
export async function syncFoldersOf(paths: Iterable<string>): Promise<void> {
    const folders = [...new Set([...paths].map((p) => dirname(p)))]
    await mapAll(folders, syncFolder)
}

/**
 * Removes temp files a dead run left in `folder` (names starting with
 * {@link TEMP_PREFIX}, regular files or symlinks only). Call it only under the
 * state lock, where no other run of homeage writes in the folders it knows. A
 * missing folder, or a path that is not one, is fine. Returns the removed paths.
 */
export async function removeLeftoverTemps(folder: string): Promise<string[]> {
    let names: string[]
    try {
        names = await readdir(folder)
    } catch (err) {
        const code = errnoOf(err)
        if (code === "ENOENT" || code === "ENOTDIR") return []
        throw new OperationError(`cannot read ${folder}: ${fsReason(err, folder)}`,
            { cause: err })
    }

    const removed: string[] = []
    for (const name of names) {
        if (!name.startsWith(TEMP_PREFIX)) continue
        const path = join(folder, name)
        let st
        try {
            st = await lstat(path)
        } catch {
            continue
        }
        if (!st.isFile() && !st.isSymbolicLink()) continue
        await rm(path, { force: true })
        removed.push(path)
    }
    return removed
}

/** Whether `path` is a name homeage uses for temp files. */
export function isTempName(path: string): boolean {
    return basename(path).startsWith(TEMP_PREFIX)
}
