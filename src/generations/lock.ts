/**
 * One mutating homeage at a time per state dir (SPEC §7). The lock is a file
 * created exclusively, holding the holder's pid and command. A lock whose pid
 * is no longer running is stale and taken over; a live one is waited for
 * briefly, then the run fails naming the holder.
 *
 * Beside the lock, the epoch file holds a fresh random token written by every
 * run right after it takes the lock and before it changes anything. A run that
 * reads the state without the lock (activate's first check) notes the token
 * and whether the lock was held ({@link viewLock}); once it holds the lock, an
 * unchanged token proves that no other run changed anything in between
 * ({@link Lock.unchangedSince}). A token is random rather than a counter so
 * that a torn write, a purged state dir or a reset can never bring back a
 * value a run saw before.
 */
import { randomBytes } from "node:crypto"
import { closeSync, constants, lstatSync, openSync, readSync } from "node:fs"
import { open, readFile, rm } from "node:fs/promises"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"

import { OperationError, errnoOf } from "../errors.js"
import { fsReason } from "../fs/errno.js"
import { interrupted, throwIfInterrupted, trackLock, untrackLock } from "../fs/interrupt.js"
import { ensureStateDirs, verifyStateDir, type StatePaths } from "./state.js"

/** How long a second run waits for the lock before giving up (ms). */
export const LOCK_WAIT_MS = 3000

/** How often the lock is tried again while waiting (ms). */
const LOCK_POLL_MS = 100

/** Mode of the lock file and of the epoch file. */
const LOCK_MODE = 0o600

/** Random bytes of an epoch token (bytes: 128 bits, never repeated in practice). */
const EPOCH_BYTES = 16

/** An epoch file as written: the token in hex and a newline; anything else is unknown. */
const EPOCH_FORMAT = new RegExp(`^[0-9a-f]{${EPOCH_BYTES * 2}}\n$`)

/** Name of the epoch file in the state dir. */
const EPOCH_FILE = "epoch"

/** Longest epoch file read (bytes); a real one is 33. */
const EPOCH_READ_BYTES = 64

/**
 * What a run saw of the lock before reading the state without it: the token
 * of the last run that took the lock, and whether the lock file existed.
 */
export interface LockView {
    /** The epoch token; `undefined` when there is none or it cannot be read. */
    epoch: string | undefined
    /** Whether a lock file was there (a run held it, or a crashed run left it). */
    held: boolean
}

/** A held lock; release it when the mutation is done. */
export interface Lock {
    /** The epoch token this run wrote when it took the lock. */
    readonly epoch: string
    release(): Promise<void>
    /**
     * Whether no run took the lock since `view` was taken and none held it
     * then, so that what was read without the lock after `view` is still what
     * is on disk (as far as homeage runs go). False whenever that cannot be
     * proven: no epoch token then or now (a state dir made before tokens
     * existed, or none at all), a token that changed, or a lock file that was
     * there (a live holder, or a crashed one whose lock was broken since).
     */
    unchangedSince(view: LockView): boolean
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

/**
 * Creates the lock file holding `content`; false when it exists. Not fsynced:
 * a lock matters only while its process lives, and one that a crash left
 * empty or stale is taken over (see {@link acquireLock}).
 */
async function tryCreate(file: string, content: string): Promise<boolean> {
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL
        | constants.O_NOFOLLOW
    try {
        const handle = await open(file, flags, LOCK_MODE)
        try {
            await handle.writeFile(content)
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

/** The epoch file of a state dir. */
function epochPath(paths: StatePaths): string {
    return join(paths.root, EPOCH_FILE)
}

/**
 * The epoch token, or `undefined` when it is missing, damaged or unreadable.
 * Synchronous, as the file is 33 bytes: a run that has nothing to change reads
 * it twice, and a thread-pool round trip costs more than the read.
 */
function readEpoch(paths: StatePaths): string | undefined {
    const flags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK
    try {
        const fd = openSync(epochPath(paths), flags)
        try {
            const buffer = Buffer.alloc(EPOCH_READ_BYTES)
            const bytesRead = readSync(fd, buffer, 0, EPOCH_READ_BYTES, 0)
            const text = buffer.subarray(0, bytesRead).toString("latin1")
            return EPOCH_FORMAT.test(text) ? text.trimEnd() : undefined
        } finally {
            closeSync(fd)
        }
    } catch {
        return undefined
    }
}

/**
 * Writes a new epoch token in place and returns it (no temp file, so a crash
 * leaves nothing behind; a torn write reads back as unknown, which only costs
 * a new check).
 */
async function writeEpoch(paths: StatePaths): Promise<string> {
    const file = epochPath(paths)
    const token = randomBytes(EPOCH_BYTES).toString("hex")
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC
        | constants.O_NOFOLLOW
    try {
        const handle = await open(file, flags, LOCK_MODE)
        try {
            await handle.writeFile(`${token}\n`)
        } finally {
            await handle.close()
        }
    } catch (err) {
        throw new OperationError(`cannot write ${file}, which tells concurrent homeage runs ` +
            `apart: ${fsReason(err, file)}; remove it and run this again`, { cause: err })
    }
    return token
}

function lockFileExists(paths: StatePaths): boolean {
    try {
        return lstatSync(paths.lock, { throwIfNoEntry: false }) !== undefined
    } catch {
        return true
    }
}

/**
 * Notes the epoch token, then whether the lock file exists, in that order: a
 * run whose changes overlap a read that starts after this either held the
 * lock at the second step or writes a new token after the first. Creates
 * nothing (a first activation's check must leave no state dir behind).
 */
export function viewLock(paths: StatePaths): LockView {
    const epoch = readEpoch(paths)
    return { epoch, held: lockFileExists(paths) }
}

/**
 * Whether another run may have changed the state since `view`: the lock was
 * held then or is held now, or the epoch token differs. A read without the
 * lock that failed may then have seen that run's half-done work, and is worth
 * doing again under the lock; otherwise its failure is real.
 */
export function lockMovedSince(paths: StatePaths, view: LockView): boolean {
    if (view.held) return true
    const now = viewLock(paths)
    return now.held || now.epoch !== view.epoch
}

/**
 * Takes the state dir's lock for `command` (a word such as `activate`),
 * creating the state dir if needed; a damaged state dir is refused first with
 * its fix (see {@link verifyStateDir}). Waits up to {@link LOCK_WAIT_MS} for a
 * live holder, then throws an `OperationError` naming its pid and command. A
 * signal while waiting ends the wait (see fs/interrupt.ts). Once it holds the
 * lock, and before the caller changes anything, it writes a new epoch token.
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
    let previous: string | undefined
    let epoch: string
    try {
        previous = readEpoch(paths)
        epoch = await writeEpoch(paths)
    } catch (err) {
        await rm(paths.lock, { force: true })
        untrackLock(paths.lock)
        throw err
    }

    return {
        epoch,
        unchangedSince: (view) => !view.held && view.epoch !== undefined
            && view.epoch === previous,
        release: async () => {
            const now = await readHolder(paths.lock)
            if (now !== "gone" && now !== "unreadable" && now.pid === process.pid) {
                await rm(paths.lock, { force: true })
            }
            untrackLock(paths.lock)
        },
    }
}

/**
 * Runs `read`, a read of the state made before taking the lock (such as
 * rollback choosing its generation and reading it). When it fails while
 * another run held the lock, or took it since, that run's half-done work (a
 * temp file, a link being replaced, a generation being written or pruned) may
 * be what it tripped on: the read runs once more holding the lock as
 * `command` (waiting for it, or failing naming the holder), and only that
 * result counts. A failure with no other run around is thrown as it is, and
 * then nothing was created, not even the state dir. With `always`, a read
 * that succeeded is made again too when another run was at work meanwhile:
 * for reads relative to the current generation, which that run may move.
 */
export async function readSettled<T>(
    paths: StatePaths, command: string, read: () => Promise<T>, always = false,
): Promise<T> {
    const view = viewLock(paths)
    try {
        const result = await read()
        if (!always || !lockMovedSince(paths, view)) return result
    } catch (err) {
        if (interrupted() || !lockMovedSince(paths, view)) throw err
    }

    const lock = await acquireLock(paths, command)
    try {
        return await read()
    } finally {
        await lock.release()
    }
}
