/**
 * Where plaintext may go (SPEC §7): the runtime dir's rule applied to every
 * secret's `path`. A path outside the runtime dir must be on tmpfs or ramfs
 * too, else it is refused unless `allowPersistentRuntimeDir` (then a warning);
 * inside the runtime dir, no folder on the way may be a symlink, since
 * following one could put plaintext on a disk. Copies are real files where the
 * user asked for them, so they are not checked here.
 */
import { stat } from "node:fs/promises"
import { dirname } from "node:path"

import { OperationError } from "../errors.js"
import { fsReason } from "../fs/errno.js"
import { isInside, symlinkedFolderBelow } from "../fs/folders.js"
import { memoryBacked } from "../fs/inspect.js"
import { mapAll } from "../fs/pool.js"
import { showPath } from "./report.js"

/** A secret's name and plaintext path, all this check needs. */
export interface PlacedSecret {
    name: string
    path: string
}

/** What {@link checkPlacement} found: problems by secret name, and warnings. */
export interface PlacementCheck {
    problems: Map<string, string[]>
    warnings: string[]
}

/** The deepest folder on the way to `path` that exists (symlinks followed). */
async function deepestExisting(path: string): Promise<string> {
    let folder = dirname(path)
    for (;;) {
        try {
            if ((await stat(folder)).isDirectory()) return folder
        } catch {
            // Missing (or not reachable): look one level up.
        }
        const parent = dirname(folder)
        if (parent === folder) return folder
        folder = parent
    }
}

/**
 * The problem of a planted symlink on the way to a plaintext file inside the
 * runtime dir, or `undefined` when there is none.
 */
export function symlinkInRuntimeDir(
    runtimeDir: string, path: string, home?: string,
): string | undefined {
    const link = symlinkedFolderBelow(runtimeDir, path)
    if (link === undefined) return undefined
    return `${showPath(link, home)} is a symlink inside the runtime dir; homeage never ` +
        "follows one there, since it could lead plaintext to a disk: remove it (homeage then " +
        "makes a real 0700 folder in its place)"
}

/**
 * Throws an `OperationError` when the way to a plaintext file inside the
 * runtime dir goes through a symlink: the last check before writing, since a
 * link may be planted after the check phase.
 */
export function refuseSymlinkInRuntimeDir(runtimeDir: string, path: string): void {
    const problem = symlinkInRuntimeDir(runtimeDir, path)
    if (problem !== undefined) throw new OperationError(`cannot write ${path}: ${problem}`)
}

/**
 * Checks every secret's plaintext path against the runtime dir's rules.
 * Changes nothing. `home` shows paths as `~/…`.
 */
export async function checkPlacement(
    secrets: readonly PlacedSecret[], runtimeDir: string, allowPersistent: boolean,
    home?: string,
): Promise<PlacementCheck> {
    const result: PlacementCheck = { problems: new Map(), warnings: [] }
    const found = await mapAll(secrets,
        (secret) => placementOf(secret, runtimeDir, allowPersistent, home))
    for (const [i, secret] of secrets.entries()) {
        const one = found[i]
        if (one === undefined) continue
        if (one.problem !== undefined) result.problems.set(secret.name, [one.problem])
        if (one.warning !== undefined) result.warnings.push(one.warning)
    }
    return result
}

/** The problem or warning of one secret's plaintext path, if any. */
async function placementOf(
    secret: PlacedSecret, runtimeDir: string, allowPersistent: boolean, home?: string,
): Promise<{ problem?: string, warning?: string }> {
    const show = showPath(secret.path, home)
    if (isInside(secret.path, runtimeDir)) {
        const problem = symlinkInRuntimeDir(runtimeDir, secret.path, home)
        return problem === undefined ? {} : { problem: `secret ${secret.name}: ${problem}` }
    }

    const folder = await deepestExisting(secret.path)
    let fs
    try {
        fs = await memoryBacked(folder)
    } catch (err) {
        return {
            problem: `secret ${secret.name}: cannot tell the file system of ${show}: ` +
                fsReason(err, folder),
        }
    }
    if (fs.memory) return {}

    const what = `secret ${secret.name}: its plaintext ${show} is outside the runtime dir ` +
        `and not on tmpfs or ramfs (file system type 0x${fs.type.toString(16)}), so it ` +
        "would be written to disk and survive a reboot"
    if (allowPersistent) return { warning: `${what}; allowed by allowPersistentRuntimeDir` }
    return {
        problem: `${what}; remove secrets.${secret.name}.path (the default puts ` +
            "it in the runtime dir), use copies for a real file where a program needs one, " +
            "or set allowPersistentRuntimeDir = true",
    }
}
