/**
 * What runs after activation, from the current generation alone (no config,
 * no dotfiles checkout): `start` re-creates outputs after a reboot emptied
 * the runtime dir, `stop` removes them with the cleanup rules, `status` tells
 * how the disk compares with the generation.
 */
import { statSync } from "node:fs"
import { rm } from "node:fs/promises"
import { dirname } from "node:path"

import { OperationError, UsageError, messageOf } from "../errors.js"
import { replaceWithSymlink, syncFoldersOf, writeFileAtomic } from "../fs/atomic.js"
import { FolderMaker, isInside } from "../fs/folders.js"
import { InterruptedError, setInterruptNote, throwIfInterrupted } from "../fs/interrupt.js"
import { ByteBudget, mapAll } from "../fs/pool.js"
import {
    listGenerations, pendingGeneration, readCurrent, readGeneration, rewriteGeneration,
} from "../generations/generations.js"
import { hashMatches, readHashKey, type HashKey } from "../generations/keyed-hash.js"
import { acquireLock } from "../generations/lock.js"
import type { Manifest, ManifestSecret } from "../generations/manifest.js"
import type { StatePaths } from "../generations/state.js"
import { readSource, storePath } from "../generations/store.js"
import { removeCreatedFolders, removeOutput } from "./cleanup.js"
import { decryptProblem, openIdentities, type Decryptor } from "./decryptor.js"
import { handedOver } from "./handover.js"
import { sweepLeftovers } from "./leftovers.js"
import { checkPlacement, refuseSymlinkInRuntimeDir } from "./placement.js"
import { realConflicts } from "./real-conflicts.js"
import {
    examine, isManaged, keptReason, outputsOfSecret, type Output, type Verdict,
} from "./outputs.js"
import { showPath, type Reporter } from "./report.js"
import { checkRuntimeDir, tightenRuntimeDir } from "./runtime-dir.js"

/**
 * How long a stop run by a service unit waits for the state lock (ms). At
 * logout the manager stops every secret unit at once, so each of these short
 * runs may wait for all the others; systemd gives a stop 90 s by default.
 */
export const UNIT_LOCK_WAIT_MS = 30_000

/** Options of {@link startSecrets}, {@link stopSecrets} and {@link secretStatus}. */
export interface RuntimeOptions {
    paths: StatePaths
    reporter: Reporter
    /** Secrets to act on; empty means all of the current generation. */
    names: string[]
    /** The home folder, to show paths as `~/…`. */
    home?: string | undefined
    /**
     * Stop only: run by a secret's service unit (`--from-unit`). Then no
     * generation, or a name the current generation does not have, is nothing
     * to do; the lock is waited for longer; and a secret that a running
     * `activate` is replacing keeps its files (see handover.ts).
     */
    fromUnit?: boolean
}

/** What {@link startSecrets} or {@link stopSecrets} did. */
export interface RuntimeResult {
    generation: number
    /** Secrets whose outputs were written (start) or removed (stop). */
    done: string[]
    /** Secrets that were already as wanted. */
    untouched: string[]
    /** Paths kept, with the reason (stop). */
    kept: string[]
}

/**
 * Reads the current generation or explains that there is none: before the
 * first activation, or after `deactivate` left the generations stored with
 * none current (then `rollback N` brings one back).
 */
export async function requireCurrent(paths: StatePaths): Promise<Manifest> {
    const manifest = await readCurrent(paths)
    if (manifest !== undefined) return manifest

    const pending = await pendingGeneration(paths)
    if (pending !== undefined) {
        throw new OperationError("no generation is current yet: the switch to generation " +
            `${pending} did not finish; run homeage activate to finish it`)
    }
    const stored = await listGenerations(paths)
    if (stored.length === 0) {
        throw new OperationError(`no generation in ${paths.root} yet; run homeage activate first`)
    }
    throw new OperationError("no generation is current (as after homeage deactivate); " +
        `generation${stored.length === 1 ? "" : "s"} ${stored.join(", ")} ` +
        `${stored.length === 1 ? "is" : "are"} stored: run homeage rollback N to make one ` +
        "current again (homeage generations lists them), or homeage activate")
}

/**
 * The current generation, or `undefined` when there is none or it cannot be
 * read; for best-effort work before a command's own checks report the cause.
 */
export async function readCurrentQuietly(paths: StatePaths): Promise<Manifest | undefined> {
    try {
        return await readCurrent(paths)
    } catch {
        return undefined
    }
}

/** The secrets of `manifest` named in `names` (all when empty); unknown names are usage errors. */
export function selectSecrets(manifest: Manifest, names: string[]): ManifestSecret[] {
    if (names.length === 0) return manifest.secrets
    const unknown = names.filter((n) => !manifest.secrets.some((s) => s.name === n))
    if (unknown.length > 0) {
        throw new UsageError(`no secret named ${unknown.join(", ")} in generation ` +
            `${manifest.generation}; homeage status lists them`)
    }
    return manifest.secrets.filter((s) => names.includes(s.name))
}

function failed(failures: string[], verb: string): OperationError {
    return new OperationError(`${failures.length} secret(s) could not be ${verb}`,
        { problems: failures })
}

async function requireKey(paths: StatePaths): Promise<HashKey> {
    const key = await readHashKey(paths.hashKey)
    if (key === undefined) {
        throw new OperationError(`the hash key ${paths.hashKey} is missing, so homeage cannot ` +
            "recognize what it wrote; run homeage activate")
    }
    return key
}

/**
 * Re-creates the outputs of the current generation's secrets (all, or
 * `names`) from the store: after a reboot emptied the runtime dir, or to
 * repair. Paths in the way that homeage did not write are left alone and
 * reported, every one of them. A secret whose plaintext would land on disk,
 * or pass a symlink inside the runtime dir, or whose outputs collide once
 * symlinks are followed, is refused. One failing secret does not stop the
 * others; the error at the end names each failure.
 */
export async function startSecrets(options: RuntimeOptions): Promise<RuntimeResult> {
    const { paths, reporter } = options
    const show = (p: string): string => showPath(p, options.home)
    await requireCurrent(paths)
    const lock = await acquireLock(paths, "start")
    try {
        setInterruptNote("the secrets started so far are in place, the others are not: " +
            "run homeage start again")
        const manifest = await requireCurrent(paths)
        const secrets = selectSecrets(manifest, options.names)
        const key = await requireKey(paths)
        await sweepLeftovers(paths, manifest.secrets, [manifest.runtimeDir], reporter)

        const check = await checkRuntimeDir(manifest.runtimeDir,
            manifest.allowPersistentRuntimeDir)
        for (const line of check.warnings) reporter.warn(line)
        if (check.problems.length > 0) {
            throw new OperationError("the runtime dir cannot be used; nothing was started",
                { problems: check.problems })
        }
        if (check.tighten) await tightenRuntimeDir(manifest.runtimeDir)
        const refused = await refusedSecrets(paths, manifest, options.home)
        for (const line of refused.warnings) reporter.warn(line)

        const result: RuntimeResult = {
            generation: manifest.generation, done: [], untouched: [], kept: [],
        }
        const failures: string[] = []
        const folders = new FolderMaker()
        const written: string[] = []
        const decrypt = decryptorFor(manifest, paths, reporter)
        const outcomes = new Array<StartOutcome | undefined>(secrets.length)
        const startAt = async (secret: ManifestSecret, index: number): Promise<void> => {
            const problems = refused.problems.get(secret.name)
            if (problems !== undefined) {
                outcomes[index] = { kind: "failed", problems, removedOutdated: false }
                return
            }
            outcomes[index] = await startOrFail(secret, {
                key, decrypt, folders, written, runtimeDir: manifest.runtimeDir,
            })
        }

        try {
            await mapAll(secrets, startAt, {
                beforeEach: throwIfInterrupted,
                stops: (err) => err instanceof InterruptedError,
            })
        } finally {
            await syncFoldersOf(written)
            for (const [i, secret] of secrets.entries()) {
                const outcome = outcomes[i]
                if (outcome === undefined) continue
                reportStart(secret, outcome, result, failures, reporter, show)
            }
        }

        await recordFolders(paths, manifest, folders.created)
        if (failures.length > 0) throw failed(failures, "started")
        return result
    } finally {
        await lock.release()
    }
}

/** Reports one secret's start outcome: a line, and its name in `result` or `failures`. */
function reportStart(
    secret: ManifestSecret, outcome: StartOutcome, result: RuntimeResult, failures: string[],
    reporter: Reporter, show: (path: string) => string,
): void {
    if (outcome.kind === "failed") {
        failures.push(...outcome.problems)
        if (outcome.removedOutdated) {
            reporter.info(`removed the outdated plaintext ${show(secret.path)} of ${secret.name}`)
        }
    } else if (outcome.wrote.length === 0) {
        result.untouched.push(secret.name)
        reporter.detail(`${secret.name} is already in place`)
    } else {
        result.done.push(secret.name)
        reporter.info(`started ${secret.name} -> ${outcome.wrote.map(show).join(", ")}`)
    }
}

/** Bytes of stored sources decrypted at once by `start` (64 MiB), so large secrets queue. */
const START_BUDGET_BYTES = 64 * 1024 * 1024

/** What starting one secret came to, reported in config order once all have run. */
type StartOutcome =
    | { kind: "started", wrote: string[] }
    | { kind: "failed", problems: string[], removedOutdated: boolean }

/** Decrypts a secret's stored source and hands the plaintext to `use`, then lets it go. */
type DecryptFor = (
    secret: ManifestSecret, use: (plaintext: Uint8Array) => Promise<void>,
) => Promise<void>

/** What {@link startOne} shares with the other secrets of the run. */
interface StartContext {
    key: HashKey
    /** Reads a secret's stored source and decrypts it, within the run's memory budget. */
    decrypt: DecryptFor
    /** Creates the folders of outputs, and records those this run made. */
    folders: FolderMaker
    /** Paths this run replaced, whose folders are fsynced once at the end. */
    written: string[]
    runtimeDir: string
}

/**
 * The decryptor of a `start` run: the identities are opened once, by the
 * first secret that needs them, however many ask at the same time; each
 * secret's plaintext is held only while `use` runs, within a shared budget.
 */
function decryptorFor(
    manifest: Manifest, paths: StatePaths, reporter: Reporter,
): DecryptFor {
    let opening: Promise<Decryptor> | undefined
    const budget = new ByteBudget(START_BUDGET_BYTES)

    return async (secret, use) => {
        opening ??= openIdentities(manifest.identityPaths, (line) => { reporter.warn(line) })
        const decryptor = await opening
        if (decryptor.usable === 0) {
            throw new OperationError("no usable identity (tried: " +
                `${manifest.identityPaths.join(", ")})`)
        }

        const what = `secret ${secret.name} (${secret.source})`
        const size = sourceSize(paths, secret)
        await budget.use(size, async () => {
            const ciphertext = readSource(paths.store, secret.storeHash)
            let plaintext: Uint8Array
            try {
                plaintext = await decryptor.decrypt(ciphertext, what)
            } catch (err) {
                throw new OperationError(decryptProblem(err, what), { cause: err })
            }
            await use(plaintext)
        })
    }
}

/** The size of a secret's stored source, or 0 when it cannot be seen (reading it says why). */
function sourceSize(paths: StatePaths, secret: ManifestSecret): number {
    try {
        return statSync(storePath(paths.store, secret.storeHash)).size
    } catch {
        return 0
    }
}

/** Starts one secret; its failure, and the removal of its outdated plaintext, as an outcome. */
async function startOrFail(secret: ManifestSecret, context: StartContext): Promise<StartOutcome> {
    try {
        return { kind: "started", wrote: await startOne(secret, context) }
    } catch (err) {
        if (err instanceof InterruptedError) throw err
        return {
            kind: "failed",
            problems: [`secret ${secret.name}: ${messageOf(err)}`],
            removedOutdated: await removeOutdatedPlaintext(secret, context.key),
        }
    }
}

/**
 * The secrets `start` must not write, by name, with their problems: plaintext
 * outside the runtime dir on disk (unless allowed: then a warning), a symlink
 * inside the runtime dir, outputs that collide once symlinks are followed.
 */
async function refusedSecrets(
    paths: StatePaths, manifest: Manifest, home: string | undefined,
): Promise<{ problems: Map<string, string[]>, warnings: string[] }> {
    const placement = await checkPlacement(manifest.secrets, manifest.runtimeDir,
        manifest.allowPersistentRuntimeDir, home)
    const problems = placement.problems
    const conflicts = realConflicts({
        secrets: manifest.secrets, runtimeDir: manifest.runtimeDir, stateDir: paths.root,
        configFile: manifest.configFile, identityPaths: manifest.identityPaths,
        textChecked: false, home,
    })
    for (const conflict of conflicts) {
        for (const name of new Set(conflict.secrets)) {
            problems.set(name, [...problems.get(name) ?? [], `secret ${name}: ` +
                `${conflict.message}; fix the config and run homeage activate`])
        }
    }
    return { problems, warnings: placement.warnings }
}

async function startOne(secret: ManifestSecret, context: StartContext): Promise<string[]> {
    const { key } = context
    const outputs = outputsOfSecret(secret)
    const examined = outputs.map((output) => examine(output, key))
    const verdicts: Verdict[] = examined.map((e) => e.verdict)
    const blocked: string[] = []
    for (const [i, output] of outputs.entries()) {
        const one = examined[i]
        if (one === undefined || one.verdict === "ok" || one.verdict === "missing") continue
        if (output.role === "plaintext" && one.state.kind === "file") continue
        if (isManaged(one.verdict)) continue
        blocked.push(`${output.path}: ${keptReason(one)}`)
    }
    if (blocked.length > 0) {
        throw new OperationError(`${blocked.join("; ")}; not overwritten (move ` +
            `${blocked.length === 1 ? "it" : "them"} away and run homeage start again)`)
    }
    if (verdicts.every((v) => v === "ok")) return []

    const filesToWrite = outputs.some((o, i) => o.role !== "symlink" && verdicts[i] !== "ok")
    if (!filesToWrite) return writeOutputs(secret, outputs, verdicts, undefined, context)

    let wrote: string[] = []
    await context.decrypt(secret, async (plaintext) => {
        if (!hashMatches(key, plaintext, secret.plaintextHash)) {
            throw new OperationError("the stored source decrypts to other content than " +
                "homeage wrote at activation; run homeage activate")
        }
        wrote = await writeOutputs(secret, outputs, verdicts, plaintext, context)
    })
    return wrote
}

/**
 * Writes a secret's outputs that are not as wanted, in order (plaintext,
 * copies, symlinks), so a symlink never appears before its file. Returns the
 * paths written.
 */
async function writeOutputs(
    secret: ManifestSecret, outputs: Output[], verdicts: Verdict[],
    plaintext: Uint8Array | undefined, context: StartContext,
): Promise<string[]> {
    const wrote: string[] = []
    for (const [i, output] of outputs.entries()) {
        if (verdicts[i] === "ok") continue
        throwIfInterrupted()
        if (output.role === "plaintext") {
            refuseSymlinkInRuntimeDir(context.runtimeDir, output.path)
        }
        await context.folders.make(dirname(output.path))
        if (output.role === "symlink") {
            await replaceWithSymlink(output.path, secret.path, { syncFolder: false })
        } else if (plaintext !== undefined) {
            await writeFileAtomic(output.path, plaintext, secret.mode,
                { uid: secret.uid ?? undefined, gid: secret.gid ?? undefined },
                { syncFolder: false })
        }
        context.written.push(output.path)
        wrote.push(output.path)
    }
    return wrote
}

/**
 * After a secret failed to start: removes its plaintext file when it holds
 * other content than the current generation's (left from an earlier one), so
 * nothing, its unit included, mistakes it for the current secret. Returns
 * whether a file was removed.
 */
async function removeOutdatedPlaintext(secret: ManifestSecret, key: HashKey): Promise<boolean> {
    const plaintext: Output = { role: "plaintext", path: secret.path, secret }
    try {
        const examined = examine(plaintext, key)
        if (examined.verdict !== "modified") return false
        await rm(secret.path)
        return true
    } catch {
        // The failure is already reported; a file that cannot be removed stays.
        return false
    }
}

/**
 * Adds the folders this run created to the generation's record, outermost
 * first (secrets started side by side create them in any order).
 */
async function recordFolders(
    paths: StatePaths, manifest: Manifest, created: string[],
): Promise<void> {
    const depth = (folder: string): number => folder.split("/").length
    const extra = [...new Set(created)]
        .filter((f) => !manifest.createdFolders.includes(f))
        .sort((a, b) => depth(a) - depth(b))
    if (extra.length === 0) return
    manifest.createdFolders = [...manifest.createdFolders, ...extra]
    await rewriteGeneration(paths, manifest)
}

/**
 * The secrets of `manifest` that `stop` acts on. A name only earlier
 * generations had (or any name, for a unit's stop) is reported and skipped: it
 * has nothing left to stop. A name no generation has is a usage error.
 */
async function selectForStop(
    paths: StatePaths, manifest: Manifest, options: RuntimeOptions,
): Promise<ManifestSecret[]> {
    const names = options.names
    const missing = names.filter((n) => !manifest.secrets.some((s) => s.name === n))
    if (missing.length === 0) return selectSecrets(manifest, names)

    const known = options.fromUnit === true ? new Set(missing) : await earlierNames(paths)
    const unknown = missing.filter((n) => !known.has(n))
    if (unknown.length > 0) return selectSecrets(manifest, names)

    for (const name of missing) {
        options.reporter.info(`${name} is not in generation ${manifest.generation}; ` +
            "nothing to stop")
    }
    const wanted = names.filter((n) => !missing.includes(n))
    return wanted.length === 0 ? [] : selectSecrets(manifest, wanted)
}

async function earlierNames(paths: StatePaths): Promise<Set<string>> {
    const names = new Set<string>()
    for (const n of await listGenerations(paths)) {
        try {
            for (const secret of (await readGeneration(paths, n)).secrets) names.add(secret.name)
        } catch {
            continue
        }
    }
    return names
}

/** Whether the secret's plaintext is the current generation's, so its files can stay. */
function plaintextCurrent(secret: ManifestSecret, key: HashKey | undefined): boolean {
    if (key === undefined) return false
    const plaintext: Output = { role: "plaintext", path: secret.path, secret }
    return isManaged(examine(plaintext, key).verdict)
}

/**
 * Removes the outputs of the current generation's secrets (all, or `names`)
 * with the cleanup rules, and the folders homeage created for them once empty.
 * The generation stays current; `start` brings the outputs back. A name that
 * only earlier generations had is nothing to stop. With `fromUnit`, see
 * {@link RuntimeOptions.fromUnit}. Returns `undefined` when a unit's stop
 * finds no generation at all.
 */
export async function stopSecrets(options: RuntimeOptions): Promise<RuntimeResult | undefined> {
    const { paths, reporter } = options
    const fromUnit = options.fromUnit === true
    const show = (p: string): string => showPath(p, options.home)
    if (fromUnit && await readCurrent(paths) === undefined) return undefined
    await requireCurrent(paths)

    const wait = fromUnit ? UNIT_LOCK_WAIT_MS : undefined
    const lock = await acquireLock(paths, "stop", wait)
    try {
        setInterruptNote("the secrets stopped so far are removed, the others are not: run " +
            "homeage stop again")
        const manifest = await requireCurrent(paths)
        const secrets = await selectForStop(paths, manifest, options)
        const key = await readHashKey(paths.hashKey)
        await sweepLeftovers(paths, manifest.secrets, [manifest.runtimeDir], reporter)
        const replacing = fromUnit ? await handedOver(paths) : new Set<string>()
        const result: RuntimeResult = {
            generation: manifest.generation, done: [], untouched: [], kept: [],
        }
        const failures: string[] = []
        const touched: string[] = []

        for (const secret of secrets) {
            throwIfInterrupted()
            if (replacing.has(secret.name) && plaintextCurrent(secret, key)) {
                result.untouched.push(secret.name)
                reporter.info(`kept ${secret.name}: homeage activate is replacing it`)
                continue
            }

            let removed = 0
            try {
                for (const output of outputsOfSecret(secret).reverse()) {
                    touched.push(output.path)
                    const outcome = await removeOutput([output], key, false)
                    if (outcome.action === "removed") {
                        removed++
                        reporter.detail(`removed ${show(outcome.path)}`)
                    } else if (outcome.action === "kept") {
                        const line = `${show(outcome.path)}: ${outcome.reason}`
                        result.kept.push(line)
                        reporter.info(`kept ${line}`)
                    }
                }
            } catch (err) {
                if (err instanceof InterruptedError) throw err
                failures.push(`secret ${secret.name}: ${messageOf(err)}`)
                continue
            }
            if (removed > 0) {
                result.done.push(secret.name)
                reporter.info(`stopped ${secret.name}`)
            } else {
                result.untouched.push(secret.name)
            }
        }

        const folders = manifest.createdFolders
            .filter((f) => touched.some((p) => isInside(p, f)))
        for (const outcome of await removeCreatedFolders(folders, false)) {
            if (outcome.action === "removed") reporter.detail(`removed ${show(outcome.path)}`)
        }

        if (failures.length > 0) throw failed(failures, "stopped")
        return result
    } finally {
        await lock.release()
    }
}

/**
 * The state of one output, as `status` shows it. `dangling` is a symlink that
 * points where homeage pointed it, at a plaintext file that is missing.
 */
export interface OutputStatus {
    path: string
    state: "ok" | "missing" | "modified" | "elsewhere" | "replaced" | "dangling"
    /** For a symlink pointing elsewhere: where it points now. */
    target?: string
}

/** The state of one secret, as `status` shows it. */
export interface SecretStatus {
    name: string
    plaintext: OutputStatus
    symlinks: OutputStatus[]
    copies: OutputStatus[]
    ok: boolean
}

/** The state of every secret of the current generation. */
export interface StatusReport {
    generation: number
    runtimeDir: string
    secrets: SecretStatus[]
    ok: boolean
}

function toStatus(path: string, verdict: Verdict, target?: string): OutputStatus {
    const state = verdict === "attributes" ? "modified" : verdict
    return target === undefined ? { path, state } : { path, state, target }
}

/**
 * Compares the disk with the current generation: each secret's plaintext
 * (present and current), symlinks (ok, missing, pointing elsewhere, or
 * dangling when the plaintext they point to is missing) and copies (ok,
 * modified, missing). Reads files to compare keyed hashes; writes nothing.
 */
export async function secretStatus(options: RuntimeOptions): Promise<StatusReport> {
    const manifest = await requireCurrent(options.paths)
    const key = await readHashKey(options.paths.hashKey)
    const secrets: SecretStatus[] = []

    for (const secret of selectSecrets(manifest, options.names)) {
        const entry: SecretStatus = {
            name: secret.name,
            plaintext: { path: secret.path, state: "missing" },
            symlinks: [], copies: [], ok: true,
        }
        for (const output of outputsOfSecret(secret)) {
            const examined = examine(output, key)
            const target = examined.verdict === "elsewhere" && examined.state.kind === "symlink"
                ? examined.state.target : undefined
            const status = toStatus(output.path, examined.verdict, target)
            if (output.role === "symlink" && status.state === "ok"
                && entry.plaintext.state === "missing") {
                status.state = "dangling"
            }
            if (status.state !== "ok") entry.ok = false
            if (output.role === "plaintext") entry.plaintext = status
            else if (output.role === "symlink") entry.symlinks.push(status)
            else entry.copies.push(status)
        }
        secrets.push(entry)
    }

    return {
        generation: manifest.generation,
        runtimeDir: manifest.runtimeDir,
        secrets,
        ok: secrets.every((s) => s.ok),
    }
}
