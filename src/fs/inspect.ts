/**
 * Read-only looks at the file system: what is at a path (without following a
 * final symlink) and which kind of file system holds a folder.
 *
 * Looks like these are made for every output of every secret, so they use
 * the synchronous calls: a `lstat` costs microseconds, while its promise form
 * costs a round trip through the thread pool, which at a thousand secrets is
 * most of a run.
 */
import { lstatSync, readlinkSync } from "node:fs"
import { statfs } from "node:fs/promises"

import { OperationError, errnoOf } from "../errors.js"
import { fsReason } from "./errno.js"

/** `statfs` type of tmpfs (Linux `TMPFS_MAGIC`). */
export const TMPFS_MAGIC = 0x01021994

/** `statfs` type of ramfs (Linux `RAMFS_MAGIC`). */
export const RAMFS_MAGIC = 0x858458f6

/** What is at a path, seen with `lstat`. */
export type PathState =
    | { kind: "missing" }
    | { kind: "symlink", target: string, uid: number }
    | { kind: "file", mode: number, uid: number, gid: number, size: number, mtimeMs: number }
    | { kind: "folder", mode: number, uid: number }
    | { kind: "other" }

/**
 * Looks at `path` without following a final symlink. A missing path, or one
 * whose parent is not a folder, is `missing`; other errors (permission denied)
 * throw an `OperationError` naming the path.
 */
export function inspectPath(path: string): PathState {
    try {
        // A missing path is the usual case at login: no error object built for it.
        const st = lstatSync(path, { throwIfNoEntry: false })
        if (st === undefined) return { kind: "missing" }
        if (st.isSymbolicLink()) {
            return { kind: "symlink", target: readlinkSync(path), uid: st.uid }
        }
        if (st.isFile()) {
            return {
                kind: "file", mode: st.mode & 0o7777, uid: st.uid, gid: st.gid,
                size: st.size, mtimeMs: st.mtimeMs,
            }
        }
        if (st.isDirectory()) return { kind: "folder", mode: st.mode & 0o7777, uid: st.uid }
        return { kind: "other" }
    } catch (err) {
        const code = errnoOf(err)
        if (code === "ENOENT" || code === "ENOTDIR") return { kind: "missing" }
        throw new OperationError(`cannot inspect ${path}: ${fsReason(err, path)}`, { cause: err })
    }
}

/** A short description of what is at a path, for messages ("a regular file"). */
export function describeState(state: PathState): string {
    switch (state.kind) {
        case "missing": return "nothing"
        case "symlink": return `a symlink to ${state.target}`
        case "file": return "a regular file"
        case "folder": return "a folder"
        case "other": return "a special file"
    }
}

/**
 * Whether `folder` lives on a memory-backed file system (tmpfs or ramfs).
 * Returns the `statfs` type as well, for messages.
 */
export async function memoryBacked(folder: string): Promise<{ memory: boolean, type: number }> {
    const st = await statfs(folder)
    const type = st.type
    return { memory: type === TMPFS_MAGIC || type === RAMFS_MAGIC, type }
}
