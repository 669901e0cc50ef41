/**
 * A preload for the real CLI (`node --import inject.js bin/homeage.js …`) that
 * lets the reliability suites reach exact points of a run without any hook in
 * the product: it wraps the mutating calls of node:fs/promises, of file
 * handles and of node:fs (the synchronous ones), and the random bytes of temp
 * names. Nothing here is active unless
 * one of the `RELIABILITY_*` variables below is set:
 *
 * - `RELIABILITY_STEPS_FILE=F`: count the mutating steps and write the count to
 *   F at exit (to calibrate kill points).
 * - `RELIABILITY_KILL_AFTER=PATH`: SIGKILL the process at the first mutating
 *   step after a rename onto PATH (a file just put in place, a mark just set).
 * - `RELIABILITY_TRACE=F`: append one line per mutating step to F: its number,
 *   the call and the path (to name kill points).
 * - `RELIABILITY_KILL_AT=N`: SIGKILL the process at mutating step N (1-based);
 *   when step N writes file content, half of it is written first, so the
 *   crash leaves a partial temp file.
 * - `RELIABILITY_PLANT=TARGET`: just before homeage creates a temp file or temp
 *   symlink, plant a symlink to TARGET at that exact name (an attacker who
 *   won the race); each planted path is appended to `RELIABILITY_LOG`. With
 *   `RELIABILITY_PLANT_AT=N`, only at the Nth temp name of the run.
 * - `RELIABILITY_PREDICTABLE=1`: temp names come from a counter instead of
 *   random bytes, to show what planting at a predicted name would do.
 * - `RELIABILITY_SIGNAL=SIG`: send SIG to the process itself while the first
 *   temp file of at least `RELIABILITY_SIGNAL_BYTES` bytes is being written
 *   (after half of it).
 * - `RELIABILITY_SWAP=FOLDER>TARGET`: when the `pending` mark is set (after the
 *   check, before any output is written), move FOLDER away and put a symlink
 *   to TARGET in its place.
 * - `RELIABILITY_READS=F`: append one line per file opened or read without
 *   writing (`read PATH`), to count how often a run looks at a file.
 * - `RELIABILITY_BEFORE_LOCK=JSON`: just before the run first creates its lock
 *   file, run the command whose argv is the JSON array, to its end (another
 *   homeage that takes the lock between activate's check and its lock).
 */
import { execFileSync } from "node:child_process"
import type { FileHandle } from "node:fs/promises"
import { createRequire, syncBuiltinESMExports } from "node:module"
import { basename } from "node:path"

const require = createRequire(import.meta.url)
// The CommonJS objects behind node:fs/promises and node:crypto: replacing their
// functions and syncing updates the ESM bindings homeage imported.
const fsp = require("node:fs/promises") as Record<string, unknown>
const nodeCrypto = require("node:crypto") as Record<string, unknown>
const fsSync = require("node:fs") as Record<string, unknown>

// This file's own file work, with the calls as they were before any wrapping,
// and marked busy so that the wrappers below let node:fs's inner calls through.
const originals = { ...fsSync } as unknown as typeof import("node:fs")
let busy = 0
function own<T>(work: () => T): T {
    busy++
    try {
        return work()
    } finally {
        busy--
    }
}
const appendFileSync = (file: string, text: string): void => {
    own(() => { originals.appendFileSync(file, text) })
}
const writeFileSync = (file: string, text: string): void => {
    own(() => { originals.writeFileSync(file, text) })
}
const renameSync = (from: string, to: string): void => {
    own(() => { originals.renameSync(from, to) })
}
const symlinkSync = (target: string, path: string): void => {
    own(() => { originals.symlinkSync(target, path) })
}

const TEMP_PREFIX = ".homeage-tmp-"
const TEMP_NAME_BYTES = 16

const env = process.env
const killAt = Number(env.RELIABILITY_KILL_AT ?? "0")
const killAfter = env.RELIABILITY_KILL_AFTER
let killArmed = false
const stepsFile = env.RELIABILITY_STEPS_FILE
const traceFile = env.RELIABILITY_TRACE
const plantTarget = env.RELIABILITY_PLANT
const plantAt = Number(env.RELIABILITY_PLANT_AT ?? "0")
let tempsSeen = 0
const logFile = env.RELIABILITY_LOG
const signalName = env.RELIABILITY_SIGNAL as NodeJS.Signals | undefined
const signalBytes = Number(env.RELIABILITY_SIGNAL_BYTES ?? "0")
const swap = env.RELIABILITY_SWAP?.split(">")
const readsFile = env.RELIABILITY_READS
const beforeLock = env.RELIABILITY_BEFORE_LOCK === undefined ? undefined
    : JSON.parse(env.RELIABILITY_BEFORE_LOCK) as string[]
let beforeLockDone = false
let steps = 0
let signalled = false
let swapped = false

const handlePaths = new WeakMap<object, string>()

function log(line: string): void {
    if (logFile !== undefined) appendFileSync(logFile, `${line}\n`)
}

function isTemp(path: unknown): path is string {
    return typeof path === "string" && basename(path).startsWith(TEMP_PREFIX)
}

/** Counts a mutating step; returns true when this is the step to crash at. */
function step(call: string, path: unknown): boolean {
    steps++
    if (traceFile !== undefined) appendFileSync(traceFile, `${steps} ${call} ${String(path)}\n`)
    return steps === killAt || killArmed
}

/** After a rename onto `target`: arms `RELIABILITY_KILL_AFTER` when it names that path. */
function renamed(target: unknown): void {
    if (killAfter !== undefined && String(target) === killAfter) killArmed = true
    swapAfterPending(target)
}

function die(): never {
    process.kill(process.pid, "SIGKILL")
    throw new Error("unreachable: SIGKILL did not end the process")
}

function plant(path: unknown): void {
    if (plantTarget === undefined || !isTemp(path)) return
    tempsSeen++
    if (plantAt !== 0 && tempsSeen !== plantAt) return
    try {
        symlinkSync(plantTarget, path)
        log(`planted ${path}`)
    } catch {
        log(`could not plant ${path}`)
    }
}

function mutatingFlags(flags: unknown): boolean {
    if (typeof flags === "number") return (flags & 3) !== 0 || (flags & 0o100) !== 0
    if (typeof flags === "string") return /[wa+]/.test(flags)
    return false
}

type AnyFunction = (...args: unknown[]) => unknown

function wrap(name: string, before: (args: unknown[]) => void,
    after?: (args: unknown[]) => void): void {
    const original = fsp[name] as AnyFunction
    fsp[name] = async (...args: unknown[]): Promise<unknown> => {
        before(args)
        const result = await original(...args)
        after?.(args)
        return result
    }
}

if (stepsFile !== undefined) {
    process.on("exit", () => {
        writeFileSync(stepsFile, `${steps}\n`)
    })
}

for (const name of ["rename", "symlink", "rm", "unlink", "rmdir", "mkdir", "chmod", "chown"]) {
    wrap(name, (args) => {
        const path = name === "symlink" || name === "rename" ? args[1] : args[0]
        if (name === "symlink") plant(path)
        if (step(name, path)) die()
    }, (args) => {
        if (name === "rename") renamed(args[1])
    })
}

/** After `RELIABILITY_SWAP`'s rename of the pending mark into place: swap the folder. */
function swapAfterPending(renamedTo: unknown): void {
    if (swap === undefined || swapped || basename(String(renamedTo)) !== "pending") return
    swapped = true
    const [folder, target] = swap
    if (folder === undefined || target === undefined) return
    renameSync(folder, `${folder}.moved-away`)
    symlinkSync(target, folder)
    log(`swapped ${folder}`)
}

/** Runs the `RELIABILITY_BEFORE_LOCK` command once, before the lock file is first created. */
function runBeforeLock(path: unknown): void {
    if (beforeLock === undefined || beforeLockDone || basename(String(path)) !== "lock") return
    beforeLockDone = true
    const [file, ...args] = beforeLock
    if (file === undefined) return
    own(() => execFileSync(file, args, { stdio: ["ignore", "ignore", "inherit"] }))
    log(`ran ${beforeLock.join(" ")}`)
}

function noteRead(path: unknown): void {
    if (readsFile !== undefined) appendFileSync(readsFile, `read ${String(path)}\n`)
}

if (readsFile !== undefined) {
    const originalReadFile = fsp.readFile as AnyFunction
    fsp.readFile = (...args: unknown[]): unknown => {
        noteRead(args[0])
        return originalReadFile(...args)
    }
}

/** What happens before any open: a read noted, or a mutating step. Returns whether it writes. */
function beforeOpen(path: unknown, flags: unknown): boolean {
    const mutating = mutatingFlags(flags)
    if (!mutating) {
        noteRead(path)
        return false
    }
    runBeforeLock(path)
    plant(path)
    if (step("open", path)) die()
    return true
}

const originalOpen = fsp.open as (...args: unknown[]) => Promise<FileHandle>
fsp.open = async (...args: unknown[]): Promise<FileHandle> => {
    const mutating = beforeOpen(args[0], args[1])
    const handle = await originalOpen(...args)
    if (mutating) handlePaths.set(handle, String(args[0]))
    return handle
}

if (env.RELIABILITY_PREDICTABLE === "1") {
    let counter = 0
    const originalRandom = nodeCrypto.randomBytes as (size: number) => Buffer
    // Temp names draw their random bytes for many names at once: each name's
    // TEMP_NAME_BYTES of the draw get the next number of the counter.
    nodeCrypto.randomBytes = (size: number, ...rest: unknown[]): unknown => {
        const forTempNames = size % TEMP_NAME_BYTES === 0 && rest.length === 0
            && (new Error().stack ?? "").includes("tempPathFor")
        if (!forTempNames) return (originalRandom as AnyFunction)(size, ...rest)
        const names: Buffer[] = []
        for (let i = 0; i < size / TEMP_NAME_BYTES; i++) {
            counter++
            names.push(Buffer.from(counter.toString(16).padStart(TEMP_NAME_BYTES * 2, "0"),
                "hex"))
        }
        return Buffer.concat(names)
    }
}

// The synchronous calls: paths of descriptors opened for writing, then the
// same steps as above (a write carrying content is split for a crash or signal).
const fdPaths = new Map<number, string>()

function wrapSync(name: string, wrapper: (original: AnyFunction, args: unknown[]) => unknown) {
    const original = fsSync[name] as AnyFunction
    fsSync[name] = (...args: unknown[]): unknown => {
        if (busy > 0) return original(...args)
        return wrapper(original, args)
    }
}

wrapSync("openSync", (original, args) => {
    const mutating = beforeOpen(args[0], args[1])
    const fd = original(...args) as number
    if (mutating) fdPaths.set(fd, String(args[0]))
    return fd
})
wrapSync("closeSync", (original, args) => {
    fdPaths.delete(args[0] as number)
    return original(...args)
})
for (const name of ["fchmodSync", "fchownSync", "fsyncSync"]) {
    wrapSync(name, (original, args) => {
        const path = fdPaths.get(args[0] as number)
        if (path !== undefined && step(name.replace(/Sync$/, ""), path)) die()
        return original(...args)
    })
}
wrapSync("writeSync", (original, args) => {
    const path = fdPaths.get(args[0] as number)
    if (path === undefined) return original(...args)
    const crash = step("write", path)
    const data = args[1]
    if (!(data instanceof Uint8Array)) {
        if (crash) die()
        return original(...args)
    }
    const offset = typeof args[2] === "number" ? args[2] : 0
    const length = typeof args[3] === "number" ? args[3] : data.length - offset
    const signalNow = signalName !== undefined && !signalled && isTemp(path)
        && length >= signalBytes
    if (!crash && !signalNow) return original(...args)

    signalled = true
    const half = Math.floor(length / 2)
    const first = original(args[0], data, offset, half) as number
    if (crash) die()
    log(`signal ${signalName ?? ""} at ${path}`)
    process.kill(process.pid, signalName)
    return first
})
for (const name of ["renameSync", "symlinkSync", "rmSync", "unlinkSync", "mkdirSync"]) {
    wrapSync(name, (original, args) => {
        const path = name === "symlinkSync" || name === "renameSync" ? args[1] : args[0]
        if (name === "symlinkSync") plant(path)
        if (step(name.replace(/Sync$/, ""), path)) die()
        const result = original(...args)
        if (name === "renameSync") renamed(args[1])
        return result
    })
}

syncBuiltinESMExports()

// File handles: wrap the prototype's writing methods, found from a handle.
const probe = await originalOpen("/dev/null", "r")
const proto = Object.getPrototypeOf(probe) as Record<string, unknown>
await probe.close()

const originalWrite = proto.write as AnyFunction

/** The bytes a write call carries (one buffer, or the buffers of `writev`). */
function bytesOf(name: string, arg: unknown): Uint8Array | undefined {
    if (arg instanceof Uint8Array) return arg
    if (name === "writev" && Array.isArray(arg)) return Buffer.concat(arg as Uint8Array[])
    return undefined
}

function wrapWrite(name: string): void {
    const original = proto[name] as AnyFunction
    proto[name] = async function (this: FileHandle, ...args: unknown[]): Promise<unknown> {
        const data = bytesOf(name, args[0])
        const path = handlePaths.get(this)
        const crash = step(name, path)
        const size = data?.length ?? 0
        const signalNow = signalName !== undefined && !signalled && isTemp(path)
            && size >= signalBytes
        if ((crash || signalNow) && data !== undefined) {
            signalled = true
            await originalWrite.call(this, data.subarray(0, Math.floor(size / 2)))
            if (crash) die()
            log(`signal ${signalName ?? ""} at ${path ?? "?"}`)
            process.kill(process.pid, signalName)
            await originalWrite.call(this, data.subarray(Math.floor(size / 2)))
            return name === "writev" ? { bytesWritten: size, buffers: args[0] }
                : name === "write" ? { bytesWritten: size, buffer: data } : undefined
        }
        if (crash) die()
        return original.apply(this, args)
    }
}

for (const name of ["writeFile", "write", "writev", "chmod", "chown", "sync"]) {
    wrapWrite(name)
}
