/**
 * The handover mark: how `activate` replaces a secret under a running unit
 * without a moment where the secret is missing.
 *
 * Restarting a systemd unit runs its stop (`homeage stop --from-unit NAME`,
 * which removes the secret's files) and then its start. `activate` has already
 * written the new content in place when it restarts the unit, so removing it
 * in between would leave readers without the file. Before it restarts units,
 * `activate` writes the names it is replacing into this mark, with its pid;
 * a stop run by a unit keeps the files of a listed secret whose plaintext is
 * already the current generation's. `activate` removes the mark when done.
 * A mark whose process is gone (a crash) is ignored, so a user's own
 * `systemctl --user stop` always removes the files.
 */
import { readFile, rm } from "node:fs/promises"

import { OperationError, errnoOf } from "../errors.js"
import { writeFileAtomic } from "../fs/atomic.js"
import { fsReason } from "../fs/errno.js"
import { processRunning } from "../generations/lock.js"
import { ensureStateDirs, type StatePaths } from "../generations/state.js"

/** Mode of the mark: it names secrets, so only the user reads it. */
const HANDOVER_MODE = 0o600

interface HandoverMark {
    pid: number
    names: string[]
}

function parseMark(text: string): HandoverMark | undefined {
    let data: unknown
    try {
        data = JSON.parse(text)
    } catch {
        return undefined
    }
    if (typeof data !== "object" || data === null) return undefined
    const { pid, names } = data as Record<string, unknown>
    if (typeof pid !== "number" || !Array.isArray(names)) return undefined
    if (!names.every((n) => typeof n === "string")) return undefined
    return { pid, names }
}

/**
 * Marks `names` as being replaced by this process. Call {@link endHandover}
 * in a `finally` once the units are restarted.
 */
export async function beginHandover(paths: StatePaths, names: readonly string[]): Promise<void> {
    await ensureStateDirs(paths)
    const mark: HandoverMark = { pid: process.pid, names: [...names] }
    await writeFileAtomic(paths.handover, Buffer.from(`${JSON.stringify(mark)}\n`),
        HANDOVER_MODE)
}

/** Removes the mark; one already gone is fine. */
export async function endHandover(paths: StatePaths): Promise<void> {
    try {
        await rm(paths.handover, { force: true })
    } catch (err) {
        throw new OperationError(`cannot remove ${paths.handover}: ` +
            `${fsReason(err, paths.handover)}; remove it yourself`, { cause: err })
    }
}

/**
 * The secrets a running `activate` is replacing now: empty when there is no
 * mark, or when the process that wrote it is no longer running.
 */
export async function handedOver(paths: StatePaths): Promise<Set<string>> {
    let text: string
    try {
        text = await readFile(paths.handover, "utf8")
    } catch (err) {
        if (errnoOf(err) === "ENOENT") return new Set()
        throw new OperationError(`cannot read ${paths.handover}: ${fsReason(err, paths.handover)}`,
            { cause: err })
    }

    const mark = parseMark(text)
    if (mark === undefined || !processRunning(mark.pid)) return new Set()
    return new Set(mark.names)
}
