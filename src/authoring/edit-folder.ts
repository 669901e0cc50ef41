/**
 * The private folder where `homeage edit` puts a secret's plaintext while the
 * editor runs: a fresh 0700 folder with a random name inside the runtime dir's
 * parent (for `/run/user/$UID/secrets` that is `/run/user/$UID`), on a memory-
 * backed file system, never `/tmp` and never beside the encrypted source. Its
 * name carries the pid of the `edit` that made it, so when that process was
 * killed (SIGKILL skips every cleanup), the next `edit`, `activate` or
 * `start` removes the plaintext it left.
 */
import { lstat, mkdtemp, readdir, rm, stat } from "node:fs/promises"
import { join } from "node:path"

import { OperationError, UsageError, errnoOf } from "../errors.js"
import { fsReason } from "../fs/errno.js"
import { memoryBacked } from "../fs/inspect.js"
import { processRunning } from "../generations/lock.js"

/** Name prefix of an edit folder, so a user recognizes one left by a killed run. */
export const EDIT_FOLDER_PREFIX = "homeage-edit-"

/**
 * An edit folder's name: the prefix, the owner's pid, and mkdtemp's six random
 * characters; or, as older versions made them, without the pid.
 */
const EDIT_FOLDER_NAME = /^homeage-edit-(?:(\d+)-)?[A-Za-z0-9]{6}$/

/** Permission bits an edit folder must have: the user's alone. */
const PRIVATE_FOLDER_MODE = 0o700

/** The sticky bit: in such a folder only an entry's owner may remove or rename it. */
const STICKY_BIT = 0o1000

/** Where the edit folder is made, and what may be relaxed. */
export interface EditFolderOptions {
    /** The folder to make it in: the runtime dir's parent, or `$XDG_RUNTIME_DIR`. */
    base: string
    /** Accept a base folder that is not on tmpfs or ramfs, with a warning. */
    allowPersistent: boolean
    /** Receives the warning when `allowPersistent` is used. */
    warn: (message: string) => void
}

/** A private folder holding plaintext; `remove` deletes it and everything in it. */
export interface EditFolder {
    /** Absolute path of the folder. */
    readonly path: string
    /** Removes the folder and its content; safe to call more than once. */
    remove(): Promise<void>
}

/**
 * Makes a private edit folder in `options.base`. Refuses (with a `UsageError`
 * saying what to change) a base that is missing, not a folder, owned by another
 * user (unless root-owned and sticky, like `/dev/shm`), reached through a
 * symlink another user owns, or not on tmpfs or ramfs: plaintext must not reach
 * a disk. The folder is created by `mkdtemp`, so its name is unguessable and it
 * is 0700 from the start.
 */
export async function makeEditFolder(options: EditFolderOptions): Promise<EditFolder> {
    await checkBase(options)

    let path: string
    try {
        path = await mkdtemp(join(options.base, `${EDIT_FOLDER_PREFIX}${process.pid}-`))
    } catch (err) {
        throw new OperationError(`cannot create a private folder in ${options.base}: `
            + fsReason(err, options.base), { cause: err })
    }

    const folder: EditFolder = {
        path,
        remove: () => rm(path, { recursive: true, force: true }),
    }
    const st = await stat(path)
    if ((st.mode & 0o777) !== PRIVATE_FOLDER_MODE) {
        await folder.remove()
        throw new OperationError(`the private folder made in ${options.base} is not 0700`)
    }
    return folder
}

async function checkBase(options: EditFolderOptions): Promise<void> {
    const { base } = options
    const uid = process.getuid?.() ?? 0
    const where = "set $XDG_RUNTIME_DIR (or the config's runtimeDir) to a folder of yours "
        + "on tmpfs, such as /run/user/$UID"

    let st
    try {
        const link = await lstat(base)
        if (link.isSymbolicLink() && link.uid !== uid && link.uid !== 0) {
            throw new UsageError(`${base} is a symlink owned by another user; ${where}`)
        }
        st = await stat(base)
    } catch (err) {
        if (err instanceof UsageError) throw err
        const reason = errnoOf(err) === "ENOENT" ? "does not exist" : fsReason(err, base)
        throw new UsageError(`the runtime folder ${base} ${reason}; ${where}`, { cause: err })
    }

    if (!st.isDirectory()) throw new UsageError(`${base} is not a folder; ${where}`)
    const sharedSticky = st.uid === 0 && (st.mode & STICKY_BIT) !== 0
    if (st.uid !== uid && !sharedSticky) {
        throw new UsageError(`${base} is owned by another user; ${where}`)
    }

    const { memory } = await memoryBacked(base)
    if (memory) return
    if (!options.allowPersistent) {
        throw new UsageError(`${base} is not on tmpfs or ramfs, so plaintext could reach a disk; `
            + `${where} (or set allowPersistentRuntimeDir = true to accept this)`)
    }
    options.warn(`${base} is not on tmpfs or ramfs; the plaintext being edited may reach a disk`)
}

/**
 * Removes the edit folders in `bases` whose `edit` is no longer running: those
 * named with a pid that is gone, and those of older versions (named without a
 * pid, which no running version makes). Only real folders owned by this user
 * are touched; nothing in them is followed. Missing or unreadable bases are
 * skipped. Returns the removed folders.
 */
export async function removeStaleEditFolders(
    bases: readonly (string | undefined)[],
): Promise<string[]> {
    const uid = process.getuid?.() ?? 0
    const removed: string[] = []
    for (const base of new Set(bases)) {
        if (base === undefined || base === "") continue
        let names: string[]
        try {
            names = await readdir(base)
        } catch {
            continue
        }

        for (const name of names) {
            const match = EDIT_FOLDER_NAME.exec(name)
            if (match === null) continue
            const pid = match[1] === undefined ? undefined : Number(match[1])
            if (pid !== undefined && (pid === process.pid || processRunning(pid))) continue

            const path = join(base, name)
            const st = await lstat(path).catch(() => undefined)
            if (st?.isDirectory() !== true || st.uid !== uid) continue
            await rm(path, { recursive: true, force: true })
            removed.push(path)
        }
    }
    return removed
}
