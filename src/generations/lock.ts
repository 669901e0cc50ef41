/**
 * One mutating homeage at a time per state dir (SPEC §7). The lock is a file
 * created exclusively, holding the holder's pid and command. A lock whose pid
 * is no longer running is stale and taken over; a live one is waited for
 * briefly, then the run fails naming the holder.
 */
import { constants } from "node:fs"
import { open, readFile, rm } from "node:fs/promises"
import { setTimeout as sleep } from "node:timers/promises"

import { OperationError, errnoOf } from "../errors.js"
import { fsReason } from "../fs/errno.js"
import { throwIfInterrupted, trackLock, untrackLock } from "../fs/interrupt.js"
import { ensureStateDirs, verifyStateDir, type StatePaths } from "./state.js"

/** How long a second run waits for the lock before giving up (ms). */
export const LOCK_WAIT_MS = 3000

/** How often the lock is tried again while waiting (ms). */
const LOCK_POLL_MS = 100

/** Mode of the lock file. */
const LOCK_MODE = 0o600

/** A held lock; release it when the mutation is done. */
export interface Lock {
    release(): Promise<void>
}

interface Holder {
    pid: number
    command: string
}

function parseHolder(text: string): Holder | undefined {
    const match = /^(\d+) (.*)\n?$/s.exec(text)
    if (match?.[1] === undefined || match[2] === undefined) return undefined
    return { pid: Number(match[1]), command: match[2].trim() }
}

/**
 * Whether a process with this pid runs (one of another user counts too). Used
 * to tell a live lock or mark from one a crashed run left behind.
 */
export function processRunning(pid: number): boolean {
    try {
        process.kill(pid, 0)
        return true
    } catch (err) {
        return errnoOf(err) === "EPERM"
    }
}

async function tryCreate(file: string, content: string): Promise<boolean> {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL
        | constants.O_NOFOLLOW
    try {
        const handle = await open(file, flags, LOCK_MODE)
        try {
            await handle.writeFile(content)
            await handle.sync()
        } finally {
            await handle.close()
        }
        return true
    } catch (err) {
        if (errnoOf(err) === "EEXIST") return false
        throw new OperationError(`cannot create the lock ${file}: ${fsReason(err, file)}`,
            { cause: err })
    }
}

async function readHolder(file: string): Promise<Holder | "gone" | "unreadable"> {
    try {
        return parseHolder(await readFile(file, "utf8")) ?? "unreadable"
    } catch (err) {
        if (errnoOf(err) === "ENOENT") return "gone"
        return "unreadable"
    }
}

/**
 * Takes the state dir's lock for `command` (a word such as `activate`),
 * creating the state dir if needed; a damaged state dir is refused first with
 * its fix (see {@link verifyStateDir}). Waits up to {@link LOCK_WAIT_MS} for a
 * live holder, then throws an `OperationError` naming its pid and command. A
 * signal while waiting ends the wait (see fs/interrupt.ts).
 */
export async function acquireLock(
    paths: StatePaths, command: string, waitMs = LOCK_WAIT_MS,
): Promise<Lock> {
    await verifyStateDir(paths)
    await ensureStateDirs(paths)
    const content = `${process.pid} ${command}\n`
    const deadline = Date.now() + waitMs

    for (;;) {
        throwIfInterrupted()
        if (await tryCreate(paths.lock, content)) break

        const seen = await readHolder(paths.lock)
        if (seen === "gone") continue
        if (seen !== "unreadable" && !processRunning(seen.pid)) {
            // A crashed run's lock: take it over.
            await rm(paths.lock, { force: true })
            continue
        }
        if (Date.now() >= deadline) {
            if (seen === "unreadable") {
                // Still without a pid after the whole wait: a run that crashed
                // between creating and writing the lock.
                await rm(paths.lock, { force: true })
                continue
            }
            throw new OperationError(`another homeage is running: pid ${seen.pid} ` +
                `(homeage ${seen.command}) holds ${paths.lock}; wait for it to finish ` +
                "and run this again")
        }
        await sleep(LOCK_POLL_MS)
    }

    trackLock(paths.lock, content)
    return {
        release: async () => {
            const now = await readHolder(paths.lock)
            if (now !== "gone" && now !== "unreadable" && now.pid === process.pid) {
                await rm(paths.lock, { force: true })
            }
            untrackLock(paths.lock)
        },
    }
}
