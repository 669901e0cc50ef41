/**
 * Creating and removing folders while remembering which ones homeage made, so
 * that cleanup removes only those, and only once empty (SPEC §5.4).
 */
import { lstatSync, readlinkSync } from "node:fs"
import { chmod, mkdir, rmdir } from "node:fs/promises"
import { dirname, join } from "node:path"

import { OperationError, errnoOf } from "../errors.js"
import { fsReason } from "./errno.js"
import { inspectPath } from "./inspect.js"

/** Mode of every folder homeage creates: private to the user. */
export const FOLDER_MODE = 0o700

/**
 * The folders that would have to be created so that `folder` exists, outermost
 * first. Stops at the first existing ancestor; throws an `OperationError` when
 * an ancestor exists but is not a folder (or a symlink, which is followed).
 */
export function missingFolders(folder: string): string[] {
    const missing: string[] = []
    let current = folder
    for (;;) {
        const state = inspectPath(current)
        if (state.kind === "folder" || state.kind === "symlink") break
        if (state.kind !== "missing") {
            throw new OperationError(
                `${current} is not a folder, so nothing can be created under it; move it away`)
        }
        missing.unshift(current)
        const parent = dirname(current)
        if (parent === current) break
        current = parent
    }
    return missing
}

/**
 * Creates `folder` and its missing ancestors one by one with mode 0700, and
 * returns the ones this call created (outermost first). A folder made
 * concurrently by someone else, another call of this process included, is
 * not claimed: of calls racing to create the same folder, only the one whose
 * `mkdir` made it returns it, so a folder is recorded once, and only when
 * homeage made it.
 */
export async function makeFolders(folder: string): Promise<string[]> {
    const created: string[] = []
    for (const path of missingFolders(folder)) {
        try {
            await mkdir(path, { mode: FOLDER_MODE })
            created.push(path)
            // A umask such as 0o777 could have narrowed the mode; make it exact.
            await chmod(path, FOLDER_MODE)
        } catch (err) {
            if (errnoOf(err) === "EEXIST") continue
            throw new OperationError(`cannot create folder ${path}: ${fsReason(err, path)}`,
                { cause: err })
        }
    }
    return created
}

/**
 * Creates the folders of many outputs during one run, each folder once: a
 * run writing a thousand symlinks into `~/links` looks at it once, not a
 * thousand times. Calls for the same folder, concurrent ones included, share
 * one creation; {@link FolderMaker.created} lists what this run made, each
 * folder once. A failed creation fails every call for that folder with the
 * same error.
 */
export class FolderMaker {
    /** The folders this maker created, in no particular order. */
    readonly created: string[] = []
    private readonly making = new Map<string, Promise<void>>()

    /** Makes sure `folder` exists (see {@link makeFolders}). */
    make(folder: string): Promise<void> {
        let making = this.making.get(folder)
        if (making === undefined) {
            making = makeFolders(folder).then((created) => {
                this.created.push(...created)
            })
            this.making.set(folder, making)
        }
        return making
    }
}

/**
 * Removes `folder` if it is empty. Returns `removed`, `missing`, or `not empty`
 * (or another reason, for the report); never removes content.
 */
export async function removeFolderIfEmpty(folder: string): Promise<string> {
    try {
        await rmdir(folder)
        return "removed"
    } catch (err) {
        const code = errnoOf(err)
        if (code === "ENOENT") return "missing"
        if (code === "ENOTEMPTY" || code === "EEXIST") return "not empty"
        if (code === "ENOTDIR") return "not a folder"
        return `not removed: ${fsReason(err, folder)}`
    }
}

/** Whether `path` is `folder` itself or lies inside it. */
export function isInside(path: string, folder: string): boolean {
    if (path === folder) return true
    const prefix = folder.endsWith("/") ? folder : `${folder}/`
    return path.startsWith(prefix)
}

/**
 * The first folder on the way from `root` (exclusive) to `file`'s folder
 * (inclusive) that is a symlink, seen with `lstat`; `undefined` when there is
 * none, when `file` is not inside `root`, or where the way stops existing.
 * Used to never follow a symlink for a folder inside the runtime dir.
 */
export function symlinkedFolderBelow(root: string, file: string): string | undefined {
    const folder = dirname(file)
    if (folder === root || !isInside(folder, root)) return undefined

    const rest = folder.slice(root.length).split("/").filter((part) => part !== "")
    let current = root
    for (const part of rest) {
        current = `${current === "/" ? "" : current}/${part}`
        const state = inspectPath(current)
        if (state.kind === "symlink") return current
        if (state.kind !== "folder") return undefined
    }
    return undefined
}

/** Most symlinks followed while resolving one path, as the kernel allows (40). */
const MAX_SYMLINK_HOPS = 40

/**
 * Where `path` really is once symlinks are followed for its folders: each
 * folder on the way is resolved as the kernel would, a symlink by its target
 * even when that target does not exist yet (so a dangling link to a folder
 * homeage will create still counts), and the missing rest is kept as written.
 * The last part is never followed (an output may itself be a symlink). A loop
 * of symlinks gives `path` back unchanged.
 */
export function realLocation(path: string): string {
    const parts = path.split("/").filter((part) => part !== "")
    const last = parts.pop()
    const queue = [...parts]
    let resolved = "/"
    let hops = 0

    while (queue.length > 0) {
        const part = queue.shift() ?? "."
        if (part === ".") continue
        if (part === "..") {
            resolved = dirname(resolved)
            continue
        }
        const next = join(resolved, part)
        let st
        try {
            st = lstatSync(next, { throwIfNoEntry: false })
        } catch {
            st = undefined
        }
        if (st === undefined) {
            resolved = join(next, ...queue)
            break
        }
        if (!st.isSymbolicLink()) {
            resolved = next
            continue
        }

        hops++
        if (hops > MAX_SYMLINK_HOPS) return path
        const target = readlinkSync(next)
        if (target.startsWith("/")) resolved = "/"
        queue.unshift(...target.split("/").filter((p) => p !== ""))
    }
    return last === undefined ? resolved : join(resolved, last)
}

/**
 * Where the folder `folder` really is, every part of its path followed (its
 * last part too): see {@link realLocation}.
 */
export function realFolder(folder: string): string {
    return dirname(realLocation(join(folder, "x")))
}
