/**
 * Atomic replacement of files and symlinks. A reader of a target path sees
 * either its complete old content or its complete new content, never a partial
 * or empty file: new content goes to an unguessable temp name in the same
 * folder and is renamed over the target (SPEC §5.3, §7).
 */
import { randomBytes } from "node:crypto"
import { constants } from "node:fs"
import { open, readdir, rename, rm, symlink, lstat } from "node:fs/promises"
import { basename, dirname, join } from "node:path"

import { OperationError, errnoOf, messageOf } from "../errors.js"

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

/** A fresh temp path beside `target`, in the same folder so that rename is atomic. */
export function tempPathFor(target: string): string {
    const random = randomBytes(TEMP_NAME_BYTES).toString("hex")
    return join(dirname(target), `${TEMP_PREFIX}${random}`)
}

/**
 * Writes `data` to `target` atomically with exactly `mode` and the given
 * ownership. The temp file is created exclusively and without following
 * symlinks, its mode and owner are set on the open descriptor before any byte
 * is written (so the umask cannot widen or narrow it), it is fsynced, renamed
 * over `target`, and the folder is fsynced. On failure the temp file is removed
 * and an `OperationError` naming `target` is thrown.
 */
export async function writeFileAtomic(
    target: string, data: Uint8Array, mode: number, owner: Ownership = {},
): Promise<void> {
    const temp = tempPathFor(target)
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL
        | constants.O_NOFOLLOW
    let handle
    try {
        handle = await open(temp, flags, mode & PERMISSION_BITS)
    } catch (err) {
        throw new OperationError(
            `cannot create a file in ${dirname(target)}: ${messageOf(err)}`, { cause: err })
    }

    try {
        if (owner.uid !== undefined || owner.gid !== undefined) {
            await handle.chown(owner.uid ?? -1, owner.gid ?? -1)
        }
        await handle.chmod(mode & PERMISSION_BITS)
        await handle.writeFile(data)
        await handle.sync()
        await handle.close()
        handle = undefined
        await rename(temp, target)
    } catch (err) {
        await handle?.close().catch(() => undefined)
        await rm(temp, { force: true }).catch(() => undefined)
        throw new OperationError(`cannot write ${target}: ${messageOf(err)}`, { cause: err })
    }

    await syncFolder(dirname(target))
}

/**
 * Makes `linkPath` a symlink to `linkTarget` by creating a temp symlink beside
 * it and renaming it over, so the path never goes missing (never
 * unlink-then-create).
 */
export async function replaceWithSymlink(linkPath: string, linkTarget: string): Promise<void> {
    const temp = tempPathFor(linkPath)
    try {
        await symlink(linkTarget, temp)
        await rename(temp, linkPath)
    } catch (err) {
        await rm(temp, { force: true }).catch(() => undefined)
        throw new OperationError(`cannot make symlink ${linkPath}: ${messageOf(err)}`,
            { cause: err })
    }

    await syncFolder(dirname(linkPath))
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
 * Removes temp files a crashed run left in `folder` (names starting with
 * {@link TEMP_PREFIX}, regular files or symlinks only). A missing folder is
 * fine. Returns the removed paths.
 */
export async function removeLeftoverTemps(folder: string): Promise<string[]> {
    let names: string[]
    try {
        names = await readdir(folder)
    } catch (err) {
        if (errnoOf(err) === "ENOENT" || errnoOf(err) === "ENOTDIR") return []
        throw new OperationError(`cannot read ${folder}: ${messageOf(err)}`, { cause: err })
    }

    const removed: string[] = []
    for (const name of names) {
        if (!name.startsWith(TEMP_PREFIX)) continue
        const path = join(folder, name)
        const st = await lstat(path)
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
