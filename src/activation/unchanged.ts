/**
 * The record of an activation that found nothing to change (SPEC §5.5: nothing
 * changed means a fast exit). After such a run, `activate` notes what its
 * check depended on: the config file and the other places the config search
 * looked, every source, every output, the store files and generation it used,
 * the service folders, and the folders above all of them, each by its `lstat`
 * (device, inode, type and mode, owner, and for files size and times in
 * nanoseconds) and, for a symlink, the same of what it leads to; and the
 * epoch token of the state lock it held. The next run with the same command
 * line, environment, working folder and homeage build that finds every one
 * of them as noted, and the token unchanged, has nothing to change either,
 * and says so without reading a source or decrypting anything.
 *
 * What this rests on:
 * - Every write to a file or folder changes its change time (ctime), which a
 *   program cannot set back, and replacing a file or link gives a new inode.
 *   A run writes no record when anything it noted changed after the run began
 *   (less {@link RACY_NS}, a clock tick's worth, or two seconds on a file
 *   system that keeps whole seconds): that change may not be what it read, or
 *   may be followed by another within the same tick.
 * - Every homeage run that changes the state or the outputs (activate, start,
 *   stop, rollback, deactivate) holds the lock, and taking it writes a new
 *   token, so any such run since the record makes it unusable.
 * - Folders above the outputs are compared by identity (device, inode, type,
 *   mode and owner), not by times: a new file beside an output does not matter,
 *   a folder replaced by a symlink or made another's does. They are looked at
 *   before the check and again at the end, and a run that saw one change
 *   writes no record.
 *
 * No record is kept when a secret has an `owner` or `group` (its check asks
 * the user database, which has no such times), nor for a run that warned or
 * reported anything but its summary. Without `HOME` or `USER`, the user's
 * entry in that database is part of the run's key (see {@link runKey}).
 * The record is an optimization, never a source of errors: one that is
 * missing, damaged, for another command line or not matching is ignored, and
 * one that cannot be written is not written.
 */
import { createHash } from "node:crypto"
import {
    constants, lstatSync, readFileSync, readdirSync, realpathSync, statSync, statfsSync,
    type BigIntStats,
} from "node:fs"
import { rm } from "node:fs/promises"
import { userInfo } from "node:os"
import { dirname, isAbsolute, join } from "node:path"
import { fileURLToPath } from "node:url"

import { errnoOf } from "../errors.js"
import { TEMP_PREFIX, writeFileAtomic } from "../fs/atomic.js"
import { readRegularFile } from "../fs/regular-file.js"
import { viewLock } from "../generations/lock.js"
import type { StatePaths } from "../generations/state.js"
import { storePath } from "../generations/store.js"
import type { Desired } from "./desired.js"

/** Format of the record file, changed when its layout changes. */
const RECORD_FORMAT = 2

/** Name of the record file in the state dir. */
const RECORD_FILE = "unchanged.json"

/** Mode of the record file: the user's only, like the rest of the state dir. */
const RECORD_MODE = 0o600

/** Largest record file read (16 MiB; about 200 bytes per path noted). */
const MAX_RECORD_BYTES = 16 * 1024 * 1024

/**
 * How long (ns) before a run began a change must be for the run to have
 * surely seen it, and for a later change to get another time: well above a
 * kernel clock tick (at most 10 ms) and any lag between that clock and the
 * system time.
 */
const RACY_NS = 100_000_000n

/** The same for a file system that keeps times in whole seconds (FAT keeps two). */
const COARSE_RACY_NS = 2_100_000_000n

const NS_PER_SECOND = 1_000_000_000n

/**
 * Variables that shells change between commands and homeage never reads;
 * everything else in the environment is part of a run's key.
 */
const SHELL_VARIABLES = new Set(["_", "OLDPWD", "PWD", "SHLVL", "COLUMNS", "LINES"])

/**
 * How a path is compared: its whole `lstat` (`whole`), and for a symlink that
 * of what it leads to as well (`through`: files read through a link), its
 * identity only, through a symlink too (`identity`: folders, identity files),
 * or the real path it resolves to (`real`: the config file, whose folder
 * relative sources are taken from).
 */
export type Watch = "whole" | "through" | "identity" | "real"

/** What a record says about one run, for the run that finds it still true. */
export interface Unchanged {
    /** What that run printed on standard output (its summary line, or nothing under -q). */
    output: string
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
    /** Folders where a full run would sweep leftover temp files (see leftovers.ts). */
    sweep: string[]
    /** SHA-256 (hex) of the fields above, so a damaged record is not used. */
    check: string
}

/** What an activation that found nothing to change depended on. */
export interface RecordInput {
    /** The key of the run (see {@link runKey}). */
    key: string
    /** The epoch token the run wrote when it took the lock. */
    epoch: string
    output: string
    editBases: string[]
    /** When the run began, before it read anything (see {@link runStarted}). */
    since: RunStart
    /** Paths compared whole (see {@link watchedPaths}). */
    whole: Iterable<string>
    /** Paths compared whole, and what they lead to when they are symlinks. */
    through: Iterable<string>
    /** Folders where a full run sweeps leftover temp files. */
    sweep: Iterable<string>
    /**
     * Paths compared by identity, and by real path (`real`), with how they
     * were before the check (see {@link lookAt}).
     */
    identity: ReadonlyMap<string, string>
    real: ReadonlyMap<string, string>
}

/** The record file of a state dir. */
export function recordPath(paths: StatePaths): string {
    return join(paths.root, RECORD_FILE)
}

function sha256(text: string): string {
    return createHash("sha256").update(text).digest("hex")
}

/** When a run began, by the system clock (as file times are) and by a monotonic one. */
export interface RunStart {
    /** Nanoseconds since the epoch. */
    wallNs: bigint
    /** `process.hrtime.bigint()`. */
    monotonicNs: bigint
}

/** The moment now, to pass as {@link RecordInput.since} for a run that begins. */
export function runStarted(): RunStart {
    return { wallNs: BigInt(Date.now()) * 1_000_000n, monotonicNs: process.hrtime.bigint() }
}

/**
 * Whether the system clock moved other than time did since `since` (set or
 * stepped, by hand or by NTP): then file times written meanwhile may lie
 * before the run's start, and the racy check cannot be trusted.
 */
function clockStepped(since: RunStart): boolean {
    const wall = BigInt(Date.now()) * 1_000_000n - since.wallNs
    const monotonic = process.hrtime.bigint() - since.monotonicNs
    const drift = wall > monotonic ? wall - monotonic : monotonic - wall
    return drift > RACY_NS
}

/**
 * The key of a run: everything besides the disk that its result depends on.
 * That is its command line as given, the environment (a config may name
 * any variable) but for what shells change between commands, the working
 * folder, the user and its groups (real and effective) and capabilities, the
 * Node.js binary and the real path of the script run (one install never
 * answers from another's record, even through a link); and when `HOME` or
 * `USER` is not set, the user's name and home folder from the user database,
 * where they then come from. (The code that ran is a watched file: another
 * homeage build is another file.) `undefined` when the user database has no
 * entry for the user.
 */
export function runKey(argv: readonly string[]): string | undefined {
    const home = process.env.HOME
    let account: { username: string, homedir: string } | null = null
    if (home === undefined || !isAbsolute(home) || (process.env.USER ?? "") === "") {
        try {
            const { username, homedir } = userInfo()
            account = { username, homedir }
        } catch {
            return undefined
        }
    }
    const env = Object.entries(process.env).filter(([name]) => !SHELL_VARIABLES.has(name))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return sha256(JSON.stringify([
        RECORD_FORMAT, process.execPath, realScript(), process.cwd(), process.getuid?.() ?? null,
        process.getgid?.() ?? null, process.geteuid?.() ?? null, process.getegid?.() ?? null,
        process.getgroups?.() ?? null, capabilities(), account, argv, env,
    ]))
}

/** The real path of the script run, or `null` when there is none to resolve. */
function realScript(): string | null {
    const script = process.argv[1]
    if (script === undefined) return null
    try {
        return realpathSync(script)
    } catch {
        return script
    }
}

/**
 * The process's effective capabilities (Linux), which decide what root may
 * read; `null` where /proc does not tell.
 */
function capabilities(): string | null {
    try {
        return /^CapEff:\s*(\S+)$/m.exec(readFileSync("/proc/self/status", "latin1"))?.[1] ?? null
    } catch {
        return null
    }
}

/** What a signature is made of, and the latest of its times (for the racy check). */
interface Seen {
    text: string
    /** Latest change or modification time seen, when the path exists. */
    latestNs: bigint | undefined
    /** Whether those times are whole seconds. */
    coarse: boolean
}

function statText(st: BigIntStats, watch: Watch): string {
    const identity = `${st.dev}:${st.ino}:${st.mode}:${st.uid}:${st.gid}`
    if (watch === "identity") return identity
    return `${identity}:${st.nlink}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`
}

/**
 * A path's `lstat` as compared, and for a symlink that of what it leads to
 * (a file read through a link changes behind it): `-` when there is nothing,
 * `!CODE` when it cannot be seen.
 */
function signature(path: string, watch: Watch): Seen {
    const seen: Seen = { text: "", latestNs: undefined, coarse: false }
    if (watch === "real") {
        try {
            return { ...seen, text: realpathSync(path) }
        } catch (err) {
            return { ...seen, text: `!${errnoOf(err) ?? "?"}` }
        }
    }
    const note = (st: BigIntStats): void => {
        for (const ns of [st.ctimeNs, st.mtimeNs]) {
            if (seen.latestNs === undefined || ns > seen.latestNs) seen.latestNs = ns
        }
        seen.coarse ||= st.ctimeNs % NS_PER_SECOND === 0n && st.mtimeNs % NS_PER_SECOND === 0n
    }
    let st: BigIntStats | undefined
    try {
        st = lstatSync(path, { bigint: true, throwIfNoEntry: false })
    } catch (err) {
        return { ...seen, text: `!${errnoOf(err) ?? "?"}` }
    }
    if (st === undefined) return { ...seen, text: "-" }
    note(st)
    seen.text = statText(st, watch)
    if (watch === "whole" || !st.isSymbolicLink()) return seen

    let target: BigIntStats | undefined
    try {
        target = statSync(path, { bigint: true, throwIfNoEntry: false })
    } catch (err) {
        seen.text += ` > !${errnoOf(err) ?? "?"}`
        return seen
    }
    if (target === undefined) {
        seen.text += " > -"
        return seen
    }
    note(target)
    seen.text += ` > ${statText(target, watch)}`
    return seen
}

/** `path` and every folder above it. */
function withAncestors(path: string): string[] {
    const all = [path]
    for (let up = dirname(path); up !== all[all.length - 1]; up = dirname(up)) all.push(up)
    return all
}

/** What an activation's check depends on, by how each path is compared. */
export interface Watched {
    whole: Set<string>
    through: Set<string>
    identity: Set<string>
    /** Folders where a full run sweeps leftover temp files. */
    sweep: Set<string>
}

/**
 * The paths a no-op activation of `desired` depends on (but for the current
 * generation's manifest, which the caller adds once it is known): every
 * output, looked at as homeage looks at it, without following a symlink;
 * through symlinks, the config file and the other places the config search
 * looked, the sources, the store files, the state files its check reads, the
 * service folders and their files, and the code running; by
 * identity, the identity files, the runtime dir, and every folder above any
 * of these.
 */
export function watchedPaths(input: {
    desired: Desired, paths: StatePaths, serviceFolders: readonly string[],
    /** The places the config search looked at (see config/find.ts). */
    configCandidates: readonly string[],
    /** The identity files used when the config names none (see config/load.ts). */
    identityCandidates: readonly string[],
}): Watched {
    const { desired, paths } = input
    const whole = new Set<string>()
    const through = new Set<string>([
        fileURLToPath(import.meta.url), ...input.configCandidates,
        paths.current, paths.pending, paths.generations, paths.hashKey, paths.lock,
        paths.handover, paths.serviceFolders,
    ])
    if (desired.configFile !== null) through.add(desired.configFile)
    for (const secret of desired.secrets) {
        for (const path of [secret.path, ...secret.symlinks, ...secret.copies]) whole.add(path)
        through.add(secret.source)
        through.add(storePath(paths.store, secret.storeHash))
    }
    for (const folder of input.serviceFolders) {
        through.add(folder)
        let names: string[] = []
        try {
            names = readdirSync(folder)
        } catch {
            // A folder that is not there is noted as missing.
        }
        for (const name of names) through.add(join(folder, name))
    }

    const files = new Set([...whole, ...through])
    const identity = new Set<string>()
    const others = [...desired.identityPaths, ...input.identityCandidates, desired.runtimeDir,
        paths.store]
    for (const path of [...files, ...others]) {
        for (const up of withAncestors(path)) {
            if (!files.has(up)) identity.add(up)
        }
    }
    const sweep = new Set([paths.root, paths.store, paths.generations,
        ...[...whole].map((path) => dirname(path)), ...treeOf(desired.runtimeDir)])
    return { whole, through, identity, sweep }
}

/** Most folders of a runtime dir's tree noted for the sweep (as leftovers.ts). */
const MAX_TREE_FOLDERS = 1000

/** `root` and the folders below it, symlinks not followed, up to a limit. */
function treeOf(root: string): string[] {
    const folders: string[] = []
    const queue = [root]
    for (let folder = queue.shift(); folder !== undefined; folder = queue.shift()) {
        if (folders.length >= MAX_TREE_FOLDERS) break
        folders.push(folder)
        try {
            for (const entry of readdirSync(folder, { withFileTypes: true })) {
                if (entry.isDirectory()) queue.push(join(folder, entry.name))
            }
        } catch {
            // A missing or unreadable folder has nothing below it.
        }
    }
    return folders
}

/**
 * Whether any of `folders` holds a temp file that a dead run left behind
 * (`.homeage-tmp-*`, perhaps with plaintext in it): then the run is not
 * answered from the record, so that a full run sweeps it.
 */
function hasLeftovers(folders: readonly string[]): boolean {
    for (const folder of folders) {
        let names: string[]
        try {
            names = readdirSync(folder)
        } catch {
            continue
        }
        if (names.some((name) => name.startsWith(TEMP_PREFIX))) return true
    }
    return false
}

/**
 * `statfs` types of the Linux file systems whose change times are kept by the
 * kernel itself, to the clock tick: tmpfs, ramfs, ext2/3/4, XFS, Btrfs, F2FS,
 * ZFS, overlayfs, bcachefs, JFS, ReiserFS. Network and FUSE file systems may
 * report times the server or a cache chose, or keep ctime equal to mtime.
 */
const RELIABLE_FILE_SYSTEMS = new Set([
    0x01021994, 0x858458f6, 0xef53, 0x58465342, 0x9123683e, 0xf2f52010, 0x2fc12fc1,
    0x794c7630, 0xca451a4e, 0x3153464a, 0x52654973,
])

/**
 * Whether every file noted lives on a file system from
 * {@link RELIABLE_FILE_SYSTEMS}: its folder, and for a symlink read through,
 * what it leads to. Only on Linux; elsewhere no record is kept.
 */
function onReliableFileSystems(whole: Iterable<string>, through: Iterable<string>): boolean {
    if (process.platform !== "linux") return false
    const places = new Set<string>()
    for (const path of whole) places.add(dirname(path))
    for (const path of through) {
        places.add(dirname(path))
        places.add(path)
    }
    for (const place of places) {
        try {
            if (!RELIABLE_FILE_SYSTEMS.has(statfsSync(place).type)) return false
        } catch {
            // Nothing there: what appears later changes the noted signature.
        }
    }
    return true
}

/**
 * The identity (or with `real`, the real path) of each of `paths` now, for
 * {@link RecordInput.identity} and {@link RecordInput.real}.
 */
export function lookAt(paths: Iterable<string>, watch: "identity" | "real" = "identity") {
    return new Map([...paths].map((path) => [path, signature(path, watch).text]))
}

function checkOf(record: Omit<RecordFile, "check">): string {
    return sha256(JSON.stringify([record.format, record.key, record.epoch, record.output,
        record.editBases, record.entries, record.sweep]))
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
    const before = viewLock(paths)
    if (before.held || before.epoch !== input.epoch) {
        await forgetUnchanged(paths)
        return false
    }

    if (clockStepped(input.since) || !onReliableFileSystems(input.whole, input.through)) {
        await forgetUnchanged(paths)
        return false
    }
    const entries: [string, Watch, string][] = []
    const files = [...[...input.whole].map((path) => [path, "whole"] as const),
        ...[...input.through].map((path) => [path, "through"] as const)]
    for (const [path, watch] of files) {
        const seen = signature(path, watch)
        const racyFrom = input.since.wallNs - (seen.coarse ? COARSE_RACY_NS : RACY_NS)
        if (seen.latestNs !== undefined && seen.latestNs >= racyFrom) {
            await forgetUnchanged(paths)
            return false
        }
        entries.push([path, watch, seen.text])
    }
    const looked = [...[...input.identity].map(([p, s]) => [p, "identity", s] as const),
        ...[...input.real].map(([p, s]) => [p, "real", s] as const)]
    for (const [path, watch, before] of looked) {
        const now = signature(path, watch).text
        if (now !== before) {
            await forgetUnchanged(paths)
            return false
        }
        entries.push([path, watch, now])
    }

    const after = viewLock(paths)
    if (after.held || after.epoch !== input.epoch) {
        await forgetUnchanged(paths)
        return false
    }
    const body = {
        format: RECORD_FORMAT, key: input.key, epoch: input.epoch, output: input.output,
        editBases: input.editBases, entries, sweep: [...input.sweep],
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
    try {
        return readRegularFile(file, MAX_RECORD_BYTES, constants.O_NOFOLLOW).toString("utf8")
    } catch {
        return undefined
    }
}

function isEntry(entry: unknown): entry is [string, Watch, string] {
    if (!Array.isArray(entry) || entry.length !== 3) return false
    const [path, watch, seen] = entry as unknown[]
    return typeof path === "string" && typeof seen === "string"
        && (watch === "whole" || watch === "through" || watch === "identity" || watch === "real")
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
    if (typeof record.output !== "string" || !Array.isArray(record.editBases)) return undefined
    if (!record.editBases.every((b) => typeof b === "string")) return undefined
    if (!Array.isArray(record.sweep) || !record.sweep.every((f) => typeof f === "string")) {
        return undefined
    }
    if (!Array.isArray(record.entries) || !record.entries.every(isEntry)) return undefined
    const whole = record as RecordFile
    return checkOf(whole) === whole.check ? whole : undefined
}

/**
 * What the last activation with key `key` said, when it found nothing to
 * change and everything it depended on is still as it was (see the module
 * comment); `undefined` when the run has to check in full.
 */
export function unchangedSince(paths: StatePaths, key: string): Unchanged | undefined {
    const text = readRecordText(recordPath(paths))
    const record = text === undefined ? undefined : parseRecord(text)
    if (record?.key !== key) return undefined

    const before = viewLock(paths)
    if (before.held || before.epoch !== record.epoch) return undefined
    for (const [path, watch, seen] of record.entries) {
        if (signature(path, watch).text !== seen) return undefined
    }
    if (hasLeftovers(record.sweep)) return undefined
    const after = viewLock(paths)
    if (after.held || after.epoch !== record.epoch) return undefined
    return { output: record.output, editBases: record.editBases }
}
