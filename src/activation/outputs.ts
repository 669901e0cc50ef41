/**
 * The outputs of a generation (plaintext files, symlinks, copies) and how the
 * disk compares with what homeage wrote there. This is what decides whether a
 * path is managed, what is repaired, and what cleanup may remove.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs"

import { OperationError, errnoOf } from "../errors.js"
import { fsReason } from "../fs/errno.js"
import { inspectPath, type PathState } from "../fs/inspect.js"
import { KeyedHasher, type HashKey } from "../generations/keyed-hash.js"
import type { Manifest, ManifestSecret } from "../generations/manifest.js"

/** Bytes read at a time to compare a file with a keyed hash (1 MiB). */
const READ_BYTES = 1024 * 1024

/** What an output is: the plaintext itself, a symlink to it, or a copy of it. */
export type OutputRole = "plaintext" | "symlink" | "copy"

/** One path a generation writes. */
export interface Output {
    role: OutputRole
    /** Absolute path of the output. */
    path: string
    /** The secret it belongs to. */
    secret: ManifestSecret
}

/** The outputs of one secret: plaintext first, then copies, then symlinks. */
export function outputsOfSecret(secret: ManifestSecret): Output[] {
    return [
        { role: "plaintext", path: secret.path, secret },
        ...secret.copies.map((path): Output => ({ role: "copy", path, secret })),
        ...secret.symlinks.map((path): Output => ({ role: "symlink", path, secret })),
    ]
}

/** Every output of a generation. */
export function outputsOf(manifest: Manifest): Output[] {
    return manifest.secrets.flatMap(outputsOfSecret)
}

/**
 * How an output's path compares with what homeage wrote:
 * - `ok`: exactly it (content, mode, owner; or the link target);
 * - `attributes`: the content homeage wrote, with another mode or owner;
 * - `missing`: nothing there;
 * - `modified`: a regular file with other content;
 * - `elsewhere`: a symlink pointing somewhere else;
 * - `replaced`: something of another kind (a folder, a file where a link was).
 */
export type Verdict = "ok" | "attributes" | "missing" | "modified" | "elsewhere" | "replaced"

/** The verdict on one output and the state it was based on. */
export interface Examined {
    verdict: Verdict
    state: PathState
}

/**
 * Whether the regular file at `path` has keyed hash `expected`. Opened
 * without following symlinks, read in chunks of 1 MiB (a file of any size).
 * Synchronous, as the looks of fs/inspect.ts, since every output is compared
 * on every run.
 */
export function fileMatches(path: string, key: HashKey, expected: string): boolean {
    const hasher = new KeyedHasher(key)
    try {
        const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW)
        try {
            const st = fstatSync(fd)
            if (!st.isFile()) return false
            const buffer = Buffer.allocUnsafe(Math.min(st.size + 1, READ_BYTES))
            for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) {
                hasher.update(buffer.subarray(0, n))
            }
        } finally {
            closeSync(fd)
        }
    } catch (err) {
        // Gone (or replaced by a symlink) since it was inspected: it does not match.
        const code = errnoOf(err)
        if (code === "ENOENT" || code === "ELOOP") return false
        throw new OperationError(`cannot read ${path} to compare it: ${fsReason(err, path)}`,
            { cause: err })
    }
    return hasher.matches(expected)
}

/**
 * Examines an output against its secret. `key` is the state's hash key;
 * without one, no file can be recognized and existing files are `modified`.
 */
export function examine(output: Output, key: HashKey | undefined): Examined {
    const state = inspectPath(output.path)
    const secret = output.secret
    if (state.kind === "missing") return { verdict: "missing", state }

    if (output.role === "symlink") {
        if (state.kind !== "symlink") return { verdict: "replaced", state }
        return { verdict: state.target === secret.path ? "ok" : "elsewhere", state }
    }

    if (state.kind !== "file") return { verdict: "replaced", state }
    if (key === undefined || !fileMatches(output.path, key, secret.plaintextHash)) {
        return { verdict: "modified", state }
    }
    const euid = process.geteuid?.() ?? 0
    const sameAttributes = state.mode === secret.mode
        && state.uid === (secret.uid ?? euid)
        && (secret.gid === null || state.gid === secret.gid)
    return { verdict: sameAttributes ? "ok" : "attributes", state }
}

/**
 * Whether an output still holds what homeage put there, so it may be replaced
 * or removed: a symlink still pointing where homeage pointed it, a file whose
 * content is what homeage wrote (mode and owner aside).
 */
export function isManaged(verdict: Verdict): boolean {
    return verdict === "ok" || verdict === "attributes"
}

/** Why a path was kept, in the words of the report. */
export function keptReason(examined: Examined): string {
    switch (examined.verdict) {
        case "modified": return "modified since homeage wrote it"
        case "elsewhere": {
            const target = examined.state.kind === "symlink" ? examined.state.target : "?"
            return `points to ${target} now, not where homeage pointed it`
        }
        case "replaced": return "replaced by something homeage did not make"
        default: return "still in use"
    }
}
