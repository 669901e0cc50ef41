/**
 * The folders homeage created for service files (`~/.config/systemd/user`,
 * its `default.target.wants`, `~/Library/LaunchAgents`), recorded in the state
 * dir so that removing the services also removes them once empty, and never
 * a folder the user had before (SPEC §5.4, applied to services).
 */
import { readFile } from "node:fs/promises"

import { OperationError, errnoOf } from "../errors.js"
import { writeFileAtomic } from "../fs/atomic.js"
import { fsReason } from "../fs/errno.js"
import { isInside, missingFolders, removeFolderIfEmpty } from "../fs/folders.js"
import { inspectPath } from "../fs/inspect.js"
import { ensureStateDirs, type StatePaths } from "../generations/state.js"
import type { Reporter } from "./report.js"

/** Mode of the record file. */
const RECORD_MODE = 0o600

async function readRecord(paths: StatePaths): Promise<string[]> {
    let text: string
    try {
        text = await readFile(paths.serviceFolders, "utf8")
    } catch (err) {
        if (errnoOf(err) === "ENOENT") return []
        const file = paths.serviceFolders
        throw new OperationError(`cannot read ${file}: ${fsReason(err, file)}`, { cause: err })
    }

    try {
        const data: unknown = JSON.parse(text)
        if (Array.isArray(data) && data.every((f) => typeof f === "string")) return data
    } catch {
        // A damaged record only means folders are kept; fall through.
    }
    return []
}

async function writeRecord(paths: StatePaths, folders: string[]): Promise<void> {
    await ensureStateDirs(paths)
    const sorted = [...new Set(folders)].sort()
    await writeFileAtomic(paths.serviceFolders, Buffer.from(`${JSON.stringify(sorted)}\n`),
        RECORD_MODE)
}

/** The folders (and missing ancestors) of `folders` that do not exist yet. */
export function foldersToCreate(folders: readonly string[]): string[] {
    const missing: string[] = []
    for (const folder of folders) missing.push(...missingFolders(folder))
    return [...new Set(missing)]
}

/** Records those of `candidates` (from {@link foldersToCreate}) that exist now. */
export async function recordCreatedFolders(
    paths: StatePaths, candidates: readonly string[],
): Promise<void> {
    const created: string[] = []
    for (const folder of candidates) {
        if (inspectPath(folder).kind === "folder") created.push(folder)
    }
    if (created.length === 0) return

    await writeRecord(paths, [...await readRecord(paths), ...created])
}

/**
 * Removes the recorded folders that hold `folders` (a service manager's own),
 * innermost first, each only once empty, and forgets the ones that are gone.
 */
export async function removeCreatedServiceFolders(
    paths: StatePaths, folders: readonly string[], reporter: Reporter,
): Promise<void> {
    const record = await readRecord(paths)
    const mine = record.filter((r) => folders.some((f) => isInside(f, r)))
    if (mine.length === 0) return

    const gone: string[] = []
    const innermostFirst = [...mine].sort((a, b) => b.split("/").length - a.split("/").length)
    for (const folder of innermostFirst) {
        const result = await removeFolderIfEmpty(folder)
        if (result === "removed") reporter.detail(`removed ${folder}`)
        if (result === "removed" || result === "missing") gone.push(folder)
    }

    await writeRecord(paths, record.filter((f) => !gone.includes(f)))
}
