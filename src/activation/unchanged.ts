/**
 * The record of an activation that found nothing to change (SPEC §5.5: nothing
 * changed means a fast exit). After such a run, `activate` notes what its
 * check depended on: the config file, every source, every output, the store
 * files and generation it used, the service folders, and the folders above
 * all of them, each by its `lstat` (device, inode, type and mode, owner, and
 * for files size, times in nanoseconds); and the epoch token of the state
 * lock it held. The next run with the same command line, environment,
 * working folder and homeage build that finds every one of them as noted,
 * and the token unchanged, has nothing to change either, and says so without
 * reading a source or decrypting anything.
 *
 * What this rests on:
 * - Every write to a file or folder changes its change time (ctime), which a
 *   program cannot set back, and replacing a file or link gives a new inode.
 *   A file noted within {@link RACY_NS} of the moment it was looked at might
 *   change again within the same clock tick, so then no record is written
 *   (the next run checks in full and writes one).
 * - Every homeage run that changes the state or the outputs (activate, start,
 *   stop, rollback, deactivate) holds the lock, and taking it writes a new
 *   token, so any such run since the record makes it unusable.
 * - Folders above the outputs are compared by identity (device, inode, type,
 *   mode and owner), not by times: a new file beside an output does not matter,
 *   a folder replaced by a symlink or made another's does.
 *
 * A secret with an `owner` or `group` is never recorded (its check asks the
 * user database, which has no such times), nor is a run that warned or
 * reported anything but its summary. The record is an optimization, never a
 * source of errors: one that is missing, damaged, for another command line or
 * not matching is ignored, and one that cannot be written is not written.
 */
import { createHash } from "node:crypto"
import {
    closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync,
} from "node:fs"
import { rm } from "node:fs/promises"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

import { errnoOf } from "../errors.js"
import { writeFileAtomic } from "../fs/atomic.js"
import { viewLock } from "../generations/lock.js"
import type { StatePaths } from "../generations/state.js"
import { storePath } from "../generations/store.js"
import { packageVersion } from "../package.js"
import type { Desired } from "./desired.js"

/** Format of the record file, changed when its layout changes. */
const RECORD_FORMAT = 1

/** Name of the record file in the state dir. */
const RECORD_FILE = "unchanged.json"

/** Mode of the record file: the user's only, like the rest of the state dir. */
const RECORD_MODE = 0o600

/** Largest record file read (16 MiB; about 200 bytes per path noted). */
const MAX_RECORD_BYTES = 16 * 1024 * 1024

/**
 * How close (ns) to the moment it was looked at a file's change time may be
 * before it counts as possibly still changing: well above a kernel clock tick
 * (at most 10 ms) and any lag between that clock and the system time.
 */
const RACY_NS = 100_000_000n

/** How much of a path's `lstat` is compared: all of it, or its identity only. */
export type Watch = "whole" | "identity"

/** What a record says about one run, for the run that finds it still true. */
export interface Unchanged {
    /** The summary line that run printed. */
    summary: string
    /** Where that run looked for folders left by a killed `edit`. */
    editBases: string[]
}

/** The record file's content. */
interface RecordFile extends Unchanged {
    format: number
    key: string
    epoch: string
    /** Path, how it is compared, and its signature. */
    entries: [string, Watch, string][]
    /** SHA-256 (hex) of the fields above, so a damaged record is not used. */
    check: string
}

/** What an activation that found nothing to change depended on. */
export interface RecordInput {
    /** The key of the run (see {@link runKey}). */
    key: string
    /** The epoch token the run wrote when it took the lock. */
    epoch: string
    summary: string
    editBases: string[]
    /** Paths compared whole (see {@link watchedPaths}). */
    whole: Iterable<string>
    /** Paths compared by identity. */
    identity: Iterable<string>
}

/** The record file of a state dir. */
export function recordPath(paths: StatePaths): string {
    return join(paths.root, RECORD_FILE)
}

function sha256(text: string): string {
    return createHash("sha256").update(text).digest("hex")
}

/**
 * The key of a run: everything besides the disk that its result depends on.
 * That is the command's parsed options, the whole environment (a config may
 * name any variable), the working folder, the user and group, the Node.js
 * binary and the homeage version.
 */
export function runKey(command: unknown): string {
    const env = Object.entries(process.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return sha256(JSON.stringify([
        RECORD_FORMAT, packageVersion(), process.execPath, process.cwd(),
        process.getuid?.() ?? null, process.getgid?.() ?? null, command, env,
    ]))
}

/** A path's `lstat` as compared: `-` when there is nothing, `!CODE` when it cannot be seen. */
function signature(path: string, watch: Watch): { text: string, ctimeNs: bigint | undefined } {
    let st
    try {
        st = lstatSync(path, { bigint: true, throwIfNoEntry: false })
    } catch (err) {
        return { text: `!${errnoOf(err) ?? "?"}`, ctimeNs: undefined }
    }
    if (st === undefined) return { text: "-", ctimeNs: undefined }
    const identity = `${st.dev}:${st.ino}:${st.mode}:${st.uid}:${st.gid}`
    if (watch === "identity") return { text: identity, ctimeNs: undefined }
    return {
        text: `${identity}:${st.nlink}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`,
        ctimeNs: st.ctimeNs > st.mtimeNs ? st.ctimeNs : st.mtimeNs,
    }
}

/** `path` and every folder above it. */
function withAncestors(path: string): string[] {
    const all = [path]
    for (let up = dirname(path); up !== all[all.length - 1]; up = dirname(up)) all.push(up)
    return all
}

/** What an activation's check depends on, as paths compared whole and by identity. */
export interface Watched {
    whole: Set<string>
    identity: Set<string>
}

/**
 * The paths a no-op activation of `desired` depends on: the config file, the
 * sources, every output, the current generation's manifest and store files,
 * the state files its check reads, the service folders and their files, and
 * the code running; by identity, the identity files, the runtime dir, and
 * every folder above any of these.
 */
export function watchedPaths(input: {
    desired: Desired, paths: StatePaths, generation: number, serviceFolders: readonly string[],
}): Watched {
    const { desired, paths } = input
    const whole = new Set<string>([
        fileURLToPath(import.meta.url),
        paths.current, paths.pending, paths.generations, paths.hashKey, paths.lock,
        paths.handover, paths.serviceFolders,
        join(paths.generations, `${input.generation}.json`),
    ])
    if (desired.configFile !== null) whole.add(desired.configFile)
    for (const secret of desired.secrets) {
        for (const path of [secret.source, secret.path, ...secret.symlinks, ...secret.copies,
            storePath(paths.store, secret.storeHash)]) {
            whole.add(path)
        }
    }
    for (const folder of input.serviceFolders) {
        whole.add(folder)
        let names: string[] = []
        try {
            names = readdirSync(folder)
        } catch {
            // A folder that is not there is noted as missing.
        }
        for (const name of names) whole.add(join(folder, name))
    }

    const identity = new Set<string>()
    for (const path of [...whole, ...desired.identityPaths, desired.runtimeDir, paths.store]) {
        for (const up of withAncestors(path)) {
            if (!whole.has(up)) identity.add(up)
        }
    }
    return { whole, identity }
}

function checkOf(record: Omit<RecordFile, "check">): string {
    return sha256(JSON.stringify([record.format, record.key, record.epoch, record.summary,
        record.editBases, record.entries]))
}

/** Removes the record of `paths`, if any; never fails. */
export async function forgetUnchanged(paths: StatePaths): Promise<void> {
    await rm(recordPath(paths), { force: true }).catch(() => undefined)
}

/**
 * Notes what an activation that found nothing to change depended on, for the
 * next run with the same key (see the module comment). Writes nothing, and
 * removes an older record, when another run took or holds the lock since
 * `input.epoch`, or when a file was changed too recently to be sure of.
 * Returns whether it wrote the record.
 */
export async function recordUnchanged(paths: StatePaths, input: RecordInput): Promise<boolean> {
    const before = await viewLock(paths)
    if (before.held || before.epoch !== input.epoch) {
        await forgetUnchanged(paths)
        return false
    }

    const racyFrom = BigInt(Date.now()) * 1_000_000n - RACY_NS
    const entries: [string, Watch, string][] = []
    for (const [watch, list] of [["whole", input.whole], ["identity", input.identity]] as const) {
        for (const path of list) {
            const { text, ctimeNs } = signature(path, watch)
            if (ctimeNs !== undefined && ctimeNs >= racyFrom) {
                await forgetUnchanged(paths)
                return false
            }
            entries.push([path, watch, text])
        }
    }

    const after = await viewLock(paths)
    if (after.held || after.epoch !== input.epoch) {
        await forgetUnchanged(paths)
        return false
    }
    const body = {
        format: RECORD_FORMAT, key: input.key, epoch: input.epoch, summary: input.summary,
        editBases: input.editBases, entries,
    }
    const record: RecordFile = { ...body, check: checkOf(body) }
    try {
        await writeFileAtomic(recordPath(paths), Buffer.from(JSON.stringify(record)),
            RECORD_MODE, {}, { syncFolder: false })
        return true
    } catch {
        return false
    }
}

/** The record file's text, or `undefined` unless it is a regular file of sane size. */
function readRecordText(file: string): string | undefined {
    let fd: number
    try {
        fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
    } catch {
        return undefined
    }
    try {
        const st = fstatSync(fd)
        if (!st.isFile() || st.size > MAX_RECORD_BYTES) return undefined
        const bytes = Buffer.allocUnsafe(st.size)
        let filled = 0
        while (filled < bytes.length) {
            const n = readSync(fd, bytes, filled, bytes.length - filled, filled)
            if (n === 0) break
            filled += n
        }
        return bytes.toString("utf8", 0, filled)
    } catch {
        return undefined
    } finally {
        closeSync(fd)
    }
}

function isEntry(entry: unknown): entry is [string, Watch, string] {
    if (!Array.isArray(entry) || entry.length !== 3) return false
    const [path, watch, seen] = entry as unknown[]
    return typeof path === "string" && (watch === "whole" || watch === "identity")
        && typeof seen === "string"
}

function parseRecord(text: string): RecordFile | undefined {
    let data: unknown
    try {
        data = JSON.parse(text)
    } catch {
        return undefined
    }
    if (typeof data !== "object" || data === null) return undefined
    const record = data as Partial<RecordFile>
    if (record.format !== RECORD_FORMAT || typeof record.check !== "string") return undefined
    if (typeof record.key !== "string" || typeof record.epoch !== "string") return undefined
    if (typeof record.summary !== "string" || !Array.isArray(record.editBases)) return undefined
    if (!record.editBases.every((b) => typeof b === "string")) return undefined
    if (!Array.isArray(record.entries) || !record.entries.every(isEntry)) return undefined
    const whole = record as RecordFile
    return checkOf(whole) === whole.check ? whole : undefined
}

/**
 * What the last activation with key `key` said, when it found nothing to
 * change and everything it depended on is still as it was (see the module
 * comment); `undefined` when the run has to check in full.
 */
export async function unchangedSince(
    paths: StatePaths, key: string,
): Promise<Unchanged | undefined> {
    const text = readRecordText(recordPath(paths))
    const record = text === undefined ? undefined : parseRecord(text)
    if (record?.key !== key) return undefined

    const before = await viewLock(paths)
    if (before.held || before.epoch !== record.epoch) return undefined
    for (const [path, watch, seen] of record.entries) {
        if (signature(path, watch).text !== seen) return undefined
    }
    const after = await viewLock(paths)
    if (after.held || after.epoch !== record.epoch) return undefined
    return { summary: record.summary, editBases: record.editBases }
}
