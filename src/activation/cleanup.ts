/**
 * Cleanup (SPEC §5.4): removing what an earlier generation made and the
 * current one no longer declares, without touching anything homeage does not
 * own. A symlink goes only while it points where homeage pointed it, a copy
 * only while its content is what homeage wrote, the plaintext file always,
 * and folders only those homeage created, once empty.
 */
import { rm } from "node:fs/promises"

import { OperationError } from "../errors.js"
import { fsReason } from "../fs/errno.js"
import { removeFolderIfEmpty } from "../fs/folders.js"
import type { HashKey } from "../generations/keyed-hash.js"
import { examine, isManaged, keptReason, type Output } from "./outputs.js"

/** What happened to one path during cleanup. */
export type CleanupOutcome =
    | { action: "removed", path: string }
    | { action: "kept", path: string, reason: string }
    | { action: "gone", path: string }

/**
 * Removes the output at a path, given every record an earlier generation has
 * of it (several when a crashed switch left a pending generation). Removed if
 * any record still manages it; kept with a reason otherwise. With `dryRun`,
 * only decides.
 */
export async function removeOutput(
    records: Output[], key: HashKey | undefined, dryRun: boolean,
): Promise<CleanupOutcome> {
    const first = records[0]
    if (first === undefined) throw new Error("removeOutput needs at least one record")
    const path = first.path

    let reason: string | undefined
    let managed = false
    let missing = true
    for (const record of records) {
        const examined = examine(record, key)
        if (examined.verdict === "missing") continue
        missing = false
        const plaintextFile = record.role === "plaintext" && examined.state.kind === "file"
        if (plaintextFile || isManaged(examined.verdict)) {
            managed = true
            break
        }
        reason ??= keptReason(examined)
    }

    if (missing) return { action: "gone", path }
    if (!managed) return { action: "kept", path, reason: reason ?? "not made by homeage" }
    if (dryRun) return { action: "removed", path }

    try {
        await rm(path)
    } catch (err) {
        throw new OperationError(`cannot remove ${path}: ${fsReason(err, path)}`, { cause: err })
    }
    return { action: "removed", path }
}

/** Depth of a path, to order folders innermost first. */
function depth(path: string): number {
    return path.split("/").length
}

/**
 * Removes the folders homeage created that are now empty, innermost first.
 * A folder that is not empty is kept (and reported); a missing one is skipped.
 */
export async function removeCreatedFolders(
    folders: Iterable<string>, dryRun: boolean,
): Promise<CleanupOutcome[]> {
    const sorted = [...new Set(folders)].sort((a, b) => depth(b) - depth(a))
    const outcomes: CleanupOutcome[] = []
    if (dryRun) return outcomes

    for (const folder of sorted) {
        const result = await removeFolderIfEmpty(folder)
        if (result === "removed") outcomes.push({ action: "removed", path: folder })
        else if (result === "missing") outcomes.push({ action: "gone", path: folder })
        else outcomes.push({ action: "kept", path: folder, reason: `folder ${result}` })
    }
    return outcomes
}
