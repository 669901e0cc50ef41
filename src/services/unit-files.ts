/**
 * Reading and writing the files a service manager loads (unit files, plists):
 * which ones homeage owns, judged by their marker line, and atomic writes so
 * the manager never reads half a file.
 */
import { randomBytes } from "node:crypto"
import { lstat, mkdir, open, readdir, readFile, rename, rm } from "node:fs/promises"
import { join } from "node:path"

import { OperationError, errnoOf } from "../errors.js"
import { fsReason } from "../fs/errno.js"

/** Mode of unit files and plists: readable by the manager, written only by the user. */
export const SERVICE_FILE_MODE = 0o644

/** Bytes of randomness in a temp file's name. */
const TEMP_NAME_BYTES = 8 // bytes

/** A file found in a service folder. */
export interface FoundFile {
    /** Whether the file holds homeage's marker line, so homeage may change or delete it. */
    owned: boolean
    /** The content of an owned file; `undefined` for one homeage does not own. */
    content: string | undefined
}

/**
 * Reads the files of `dir` whose names `wanted` accepts. A file is owned when
 * it is a regular file containing `marker` as a whole line; anything else (a
 * user's file, a symlink, a folder) is reported as not owned. A missing
 * folder is an empty result.
 */
export async function scanServiceFiles(
    dir: string,
    wanted: (name: string) => boolean,
    marker: string,
): Promise<Map<string, FoundFile>> {
    const found = new Map<string, FoundFile>()
    let names: string[]
    try {
        names = await readdir(dir)
    } catch (err) {
        if (errnoOf(err) === "ENOENT") return found
        throw new OperationError(`cannot read ${dir}: ${fsReason(err, dir)}`, { cause: err })
    }

    for (const name of names.filter(wanted).sort()) {
        found.set(name, await readOwned(join(dir, name), marker))
    }

    return found
}

/** Reads one file as {@link scanServiceFiles} does; `undefined` when it does not exist. */
export async function readServiceFile(
    path: string,
    marker: string,
): Promise<FoundFile | undefined> {
    try {
        await lstat(path)
    } catch (err) {
        if (errnoOf(err) === "ENOENT") return undefined
        throw err
    }
    return readOwned(path, marker)
}

async function readOwned(path: string, marker: string): Promise<FoundFile> {
    const stat = await lstat(path)
    if (!stat.isFile()) return { owned: false, content: undefined }

    const content = await readFile(path, "utf8")
    if (!content.split("\n").includes(marker)) return { owned: false, content: undefined }
    return { owned: true, content }
}

/**
 * Writes `content` to `path` atomically: into a new temp file with an
 * unguessable name beside it (exclusive create, mode 0644), flushed to disk,
 * then renamed over `path`. Creates the folder if needed. The temp file is
 * removed when anything fails.
 */
export async function writeServiceFile(path: string, content: string): Promise<void> {
    const dir = path.slice(0, path.lastIndexOf("/")) || "/"
    const temp = join(dir, `.homeage-${randomBytes(TEMP_NAME_BYTES).toString("hex")}.tmp`)
    try {
        await mkdir(dir, { recursive: true })
        const handle = await open(temp, "wx", SERVICE_FILE_MODE)
        try {
            await handle.writeFile(content, "utf8")
            await handle.sync()
        } finally {
            await handle.close()
        }
        await rename(temp, path)
    } catch (err) {
        await rm(temp, { force: true })
        throw new OperationError(`cannot write ${path}: ${fsReason(err, path)}; it keeps its ` +
            "old content (if it had any)", { cause: err })
    }
}

/** Deletes a file; one that is already gone is fine. */
export async function removeServiceFile(path: string): Promise<void> {
    await rm(path, { force: true })
}

/** Whether anything (even a dangling symlink) exists at `path`. */
export async function exists(path: string): Promise<boolean> {
    try {
        await lstat(path)
        return true
    } catch (err) {
        if (errnoOf(err) === "ENOENT") return false
        throw err
    }
}
