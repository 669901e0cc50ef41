/**
 * The switch (SPEC §5.2–5.4): store the sources, record the generation, write
 * every output so that each path holds its complete old or complete new
 * content at every instant, then clean up what the new generation no longer
 * declares. A `pending` mark is kept while outputs change, so that a crash
 * leaves a state the next run recognizes and repairs.
 */
import { randomBytes } from "node:crypto"
import { rename } from "node:fs/promises"
import { dirname } from "node:path"

import { OperationError, messageOf } from "../errors.js"
import { replaceWithSymlink, syncFoldersOf, writeFileAtomic } from "../fs/atomic.js"
import { fsReason } from "../fs/errno.js"
import { FolderMaker, isInside, missingFolders, realFolder } from "../fs/folders.js"
import { inspectPath } from "../fs/inspect.js"
import { InterruptedError, setInterruptNote, throwIfInterrupted } from "../fs/interrupt.js"
import { mapAll } from "../fs/pool.js"
import {
    pendingGeneration, pruneGenerations, rewriteGeneration, setCurrent, setPending,
    writeGeneration,
} from "../generations/generations.js"
import { ensureHashKey, keyedHash, type HashKey } from "../generations/keyed-hash.js"
import {
    MANIFEST_VERSION, sameOutputs, type Manifest, type ManifestSecret,
} from "../generations/manifest.js"
import { putSource } from "../generations/store.js"
import { removeCreatedFolders, removeOutput, type CleanupOutcome } from "./cleanup.js"
import { examine, outputsOf, outputsOfSecret, type Output } from "./outputs.js"
import { describedSecret } from "./desired.js"
import { sweepLeftovers } from "./leftovers.js"
import { refuseSymlinkInRuntimeDir } from "./placement.js"
import type { Plan, PlannedSecret } from "./plan.js"
import { showMode, showPath, type Reporter } from "./report.js"
import { tightenRuntimeDir } from "./runtime-dir.js"

/** Length of the throwaway hash key of a dry run with no state yet (bytes). */
const DRY_RUN_KEY_BYTES = 32

/** Options of {@link applyPlan}. */
export interface SwitchOptions {
    reporter: Reporter
    /** Decide and report, change nothing. */
    dryRun?: boolean
    /** How many generations to keep after a new one is made. */
    generationsToKeep: number
    /** The home folder, to show paths as `~/…`. */
    home?: string | undefined
    /**
     * A stored generation being made current again (rollback): when the new
     * outputs are exactly its outputs, it becomes current under its own
     * number instead of a copy being written as a new generation.
     */
    restore?: Manifest | undefined
    /**
     * The command as a user would run it again to finish an interrupted
     * switch (`activate`, or `rollback` for a rollback).
     */
    command?: string | undefined
}

/** What an activation did (or, in a dry run, would do), by secret name. */
export interface SwitchResult {
    /** The generation now current (the current one when nothing changed). */
    generation: number | undefined
    /** Whether the outputs are described by the generation that was current already. */
    unchanged: boolean
    added: string[]
    changed: string[]
    removed: string[]
    /** Secrets whose outputs were repaired without a change of generation. */
    restored: string[]
    /**
     * Secrets new or changed since the current generation whose outputs an
     * interrupted switch to the same content had already put in place.
     */
    completed: string[]
    /** Paths kept during cleanup, with the reason. */
    kept: string[]
    /**
     * The epoch token `activate` wrote when it took the state lock (see
     * generations/lock.ts); not set by a dry run.
     */
    epoch?: string | undefined
    /** Whether `activate` then had services to install, change or remove. */
    servicesChanged?: boolean
}

function finalSecret(planned: PlannedSecret, key: HashKey): ManifestSecret {
    const rest = describedSecret(planned.desired)
    if (planned.plaintext !== undefined) {
        return { ...rest, plaintextHash: keyedHash(key, planned.plaintext) }
    }
    if (planned.previous === undefined) {
        throw new Error(`secret ${rest.name} was neither decrypted nor in the last generation`)
    }
    return { ...rest, plaintextHash: planned.previous.plaintextHash }
}

function unique<T>(items: Iterable<T>): T[] {
    return [...new Set(items)]
}

function outerFirst(folders: Iterable<string>): string[] {
    return unique(folders).sort((a, b) => a.split("/").length - b.split("/").length)
}

/** The folders the new generation's outputs need that homeage made or will make. */
function plannedFolders(secrets: ManifestSecret[], earlier: (Manifest | undefined)[]): string[] {
    const outputs = secrets.flatMap(outputsOfSecret).map((o) => o.path)
    const predicted: string[] = []
    for (const folder of unique(outputs.map((p) => dirname(p)))) {
        predicted.push(...missingFolders(folder))
    }

    const carried: string[] = []
    for (const folder of earlier.flatMap((m) => m?.createdFolders ?? [])) {
        if (!outputs.some((p) => isInside(p, folder))) continue
        if (inspectPath(folder).kind === "folder") carried.push(folder)
    }
    return outerFirst([...carried, ...predicted])
}

/** What changed in a secret between two generations, for the report. */
function differences(before: ManifestSecret, after: ManifestSecret, home?: string): string[] {
    const out: string[] = []
    if (before.plaintextHash !== after.plaintextHash) out.push("content")
    else if (before.storeHash !== after.storeHash) out.push("source re-encrypted")
    if (before.path !== after.path) {
        out.push(`path ${showPath(before.path, home)} -> ${showPath(after.path, home)}`)
    }
    if (before.mode !== after.mode) {
        out.push(`mode ${showMode(before.mode)} -> ${showMode(after.mode)}`)
    }
    if (before.uid !== after.uid || before.owner !== after.owner) out.push("owner")
    if (before.gid !== after.gid || before.group !== after.group) out.push("group")
    const same = (a: string[], b: string[]): boolean =>
        a.length === b.length && a.every((x, i) => x === b[i])
    if (!same(before.symlinks, after.symlinks)) out.push("symlinks")
    if (!same(before.copies, after.copies)) out.push("copies")
    return out
}

function targetsOf(secret: ManifestSecret, home?: string): string {
    const targets = [...secret.symlinks, ...secret.copies]
    return (targets.length > 0 ? targets : [secret.path]).map((p) => showPath(p, home))
        .join(", ")
}

/**
 * Refuses to write into a folder that leads elsewhere than at the check: one
 * on the way was replaced by a symlink since (to someone else's folder, say).
 */
function refuseMovedFolder(plan: Plan, path: string): void {
    const folder = dirname(path)
    const checked = plan.realFolders.get(folder)
    if (checked === undefined) return
    const now = realFolder(folder)
    if (now === checked) return
    throw new OperationError(`${folder} leads to ${now} now, not to ${checked} as at the ` +
        "check: a folder on the way was replaced by a symlink; nothing was written there " +
        "(see what changed, then run homeage activate again)")
}

/**
 * Writes one output (the plaintext must be known for files). Its folder is
 * not fsynced here: {@link switchOutputs} syncs each folder once, after all
 * writes and before the generation becomes current.
 */
async function writeOutput(
    output: Output, plaintext: Uint8Array | undefined, folders: FolderMaker, plan: Plan,
): Promise<void> {
    if (output.role === "plaintext") {
        refuseSymlinkInRuntimeDir(plan.desired.runtimeDir, output.path)
    }
    await folders.make(dirname(output.path))
    refuseMovedFolder(plan, output.path)
    const secret = output.secret
    if (output.role === "symlink") {
        await replaceWithSymlink(output.path, secret.path, { syncFolder: false })
        return
    }
    if (plaintext === undefined) {
        throw new OperationError(`${output.path} changed while homeage was running; ` +
            "run homeage activate again")
    }
    await writeFileAtomic(output.path, plaintext, secret.mode,
        { uid: secret.uid ?? undefined, gid: secret.gid ?? undefined }, { syncFolder: false })
}

/** What switching one secret's outputs came to: what it wrote, and why it failed if it did. */
interface Switched {
    written: string[]
    /** One line per output written, for `-v`. */
    details: string[]
    problem?: string | undefined
}

/**
 * Switches every secret's outputs, secrets side by side (their paths are
 * distinct, the check made sure) and each secret's outputs in order:
 * plaintext, copies, then symlinks, so a new symlink never points at a file
 * not written yet. Every folder written into is fsynced once, after the
 * writes. Returns each secret's outcome in `finals` order; a failing secret
 * does not stop the others. A signal stops starting secrets, lets the ones
 * in flight finish their current file, and throws.
 */
async function switchOutputs(
    plan: Plan, finals: ManifestSecret[], key: HashKey, folders: FolderMaker,
    options: SwitchOptions,
): Promise<(Switched | undefined)[]> {
    const dryRun = options.dryRun === true
    const show = (p: string): string => showPath(p, options.home)
    const verb = dryRun ? "would write" : "wrote"
    const written: string[] = []

    const switchOne = async (final: ManifestSecret, i: number): Promise<Switched> => {
        const planned = plan.secrets[i]
        const mine: string[] = []
        const details: string[] = []
        if (planned?.settled === true) return { written: mine, details }
        const plaintext = planned?.plaintext
        try {
            for (const output of outputsOfSecret(final)) {
                throwIfInterrupted()
                if (examine(output, key).verdict === "ok") continue
                mine.push(output.path)
                if (!dryRun) {
                    await writeOutput(output, plaintext, folders, plan)
                    written.push(output.path)
                }
                details.push(`${verb} ${show(output.path)}` +
                    (output.role === "symlink" ? ` -> ${show(final.path)}` : ""))
            }
        } catch (err) {
            if (err instanceof InterruptedError) throw err
            return { written: mine, details, problem: messageOf(err) }
        }
        return { written: mine, details }
    }

    try {
        return await mapAll(finals, switchOne, {
            beforeEach: throwIfInterrupted,
            stops: (err) => err instanceof InterruptedError,
        })
    } finally {
        await syncFoldersOf(written)
    }
}

/** Puts every source into the store, each distinct one once, side by side. */
async function storeSources(plan: Plan): Promise<void> {
    const sources = new Map<string, Uint8Array>()
    for (const planned of plan.secrets) {
        sources.set(planned.desired.storeHash, planned.desired.ciphertext)
    }
    await mapAll([...sources.values()], (ciphertext) => putSource(plan.paths.store, ciphertext))
}

/**
 * Applies a checked plan: stores sources, writes the generation, switches
 * every output, cleans up, makes the generation current and prunes old ones.
 * Reports one line per secret added, changed, restored or removed. Throws an
 * `OperationError` naming each secret that failed; the pending mark then stays
 * so the next run repairs.
 */
export async function applyPlan(plan: Plan, options: SwitchOptions): Promise<SwitchResult> {
    const dryRun = options.dryRun === true
    const { reporter, home } = options
    const paths = plan.paths
    const show = (p: string): string => showPath(p, home)
    const verb = (word: string, past: string): string => (dryRun ? `would ${word}` : past)

    const key = dryRun
        ? plan.key ?? randomBytes(DRY_RUN_KEY_BYTES)
        : await ensureHashKey(paths.hashKey)
    const finals = plan.secrets.map((p) => finalSecret(p, key))
    const earlier = [plan.current, plan.pending]
    const draft: Omit<Manifest, "generation"> = {
        version: MANIFEST_VERSION,
        created: new Date().toISOString(),
        configFile: plan.desired.configFile,
        runtimeDir: plan.desired.runtimeDir,
        installationType: plan.desired.installationType,
        allowPersistentRuntimeDir: plan.desired.allowPersistentRuntimeDir,
        identityPaths: plan.desired.identityPaths,
        createdFolders: plannedFolders(finals, earlier),
        secrets: finals,
    }

    // A rollback makes its generation current even when the files already
    // match it (the current generation may have the same content).
    const restore = options.restore
    const reused = restore !== undefined
        && sameOutputs(restore, { ...draft, generation: restore.generation })
    const otherNumber = reused && restore.generation !== plan.current?.generation
    const unchanged = plan.current !== undefined && !otherNumber
        && sameOutputs(plan.current, { ...draft, generation: plan.current.generation })
    let manifest: Manifest = unchanged && plan.current !== undefined
        ? plan.current
        : { ...draft, generation: (plan.currentNumber ?? 0) + 1 }
    if (reused && !unchanged) manifest = { ...restore, createdFolders: draft.createdFolders }
    if (!dryRun) await storeSources(plan)
    if (!dryRun && !unchanged) {
        if (reused) await rewriteGeneration(paths, manifest)
        else manifest = await writeGeneration(paths, draft)
        await setPending(paths, manifest.generation)
        setInterruptNote(`the switch to generation ${manifest.generation} is partly done ` +
            "(every file holds its old or its new content): run " +
            `${againCommand(options.command, manifest.generation)} to finish it`)
    }

    if (!dryRun) await prepareFolders(plan, finals, reporter)

    for (const backup of plan.backups) {
        if (!dryRun) await moveAside(backup.from, backup.to)
        reporter.info(`${verb("move", "moved")} ${show(backup.from)} to ${show(backup.to)}`)
    }

    const result: SwitchResult = {
        generation: manifest.generation, unchanged,
        added: [], changed: [], removed: [], restored: [], completed: [], kept: [],
    }
    const failures: string[] = []
    const folders = new FolderMaker()
    const switched = await switchOutputs(plan, finals, key, folders, options)
    for (const [i, final] of finals.entries()) {
        const planned = plan.secrets[i]
        const outcome = switched[i]
        if (planned === undefined || outcome === undefined) continue
        for (const line of outcome.details) reporter.detail(line)
        if (outcome.problem !== undefined) {
            failures.push(`secret ${final.name}: ${outcome.problem}`)
            continue
        }
        reportSecret(plan, planned, final, outcome.written, result, options)
    }

    if (failures.length > 0) {
        throw new OperationError(`activation failed for ${failures.length} secret(s); each ` +
            "path of those keeps its old content (or stays absent), the other secrets are " +
            "switched, and the next homeage activate finishes the job once the cause is fixed",
        { problems: failures })
    }

    await cleanUp(plan, manifest, key, dryRun, result, options)
    if (dryRun) reportServices(plan, reporter)

    if (!dryRun) await finish(plan, manifest, folders.created, { unchanged, reused }, options)
    return result
}

/** The command that finishes an interrupted `command` (activate or rollback) to `generation`. */
export function againCommand(command: string | undefined, generation: number): string {
    return command === "rollback" ? `homeage rollback ${generation}` : "homeage activate"
}

/** Reports one switched secret: added, changed, restored, or completed. */
function reportSecret(
    plan: Plan, planned: PlannedSecret, final: ManifestSecret, written: string[],
    result: SwitchResult, options: SwitchOptions,
): void {
    const { reporter, home } = options
    const dryRun = options.dryRun === true
    const verb = (word: string, past: string): string => (dryRun ? `would ${word}` : past)
    const before = planned.previous
    const diff = before === undefined ? undefined : differences(before, final, home)

    const pending = plan.pending?.secrets.find((s) => s.name === final.name)
    const isNew = diff === undefined || diff.length > 0
    if (isNew && written.length === 0 && pending !== undefined
        && differences(pending, final, home).length === 0) {
        result.completed.push(final.name)
        reporter.info(`${verb("complete", "completed")} ${final.name}: already in place from ` +
            "an interrupted switch")
        return
    }

    if (diff === undefined) {
        result.added.push(final.name)
        reporter.info(`${verb("add", "added")} ${final.name} -> ${targetsOf(final, home)}`)
    } else if (diff.length > 0) {
        result.changed.push(final.name)
        reporter.info(`${verb("change", "changed")} ${final.name}: ${diff.join(", ")}`)
    } else if (written.length > 0) {
        result.restored.push(final.name)
        const show = (p: string): string => showPath(p, home)
        reporter.info(`${verb("restore", "restored")} ${final.name}: ` +
            written.map(show).join(", "))
    }
}

async function prepareFolders(
    plan: Plan, finals: ManifestSecret[], reporter: Reporter,
): Promise<void> {
    if (plan.runtimeDir.tighten) {
        await tightenRuntimeDir(plan.desired.runtimeDir)
        reporter.detail(`tightened ${plan.desired.runtimeDir} to 0700`)
    }

    const earlier = [plan.current, plan.pending, ...plan.unfinished]
        .flatMap((m) => m?.secrets ?? [])
    const runtimeDirs = [plan.desired.runtimeDir, plan.current?.runtimeDir,
        plan.pending?.runtimeDir].filter((d) => d !== undefined)
    await sweepLeftovers(plan.paths, [...finals, ...earlier], runtimeDirs, reporter)
}

async function moveAside(from: string, to: string): Promise<void> {
    if (inspectPath(to).kind !== "missing") {
        throw new OperationError(`cannot move ${from} to ${to}: that exists now; move one away`)
    }
    try {
        await rename(from, to)
    } catch (err) {
        throw new OperationError(`cannot move ${from} to ${to}: ${fsReason(err, from)}; ` +
            `${from} was left where it was`, { cause: err })
    }
}

async function cleanUp(
    plan: Plan, manifest: Manifest, key: HashKey, dryRun: boolean,
    result: SwitchResult, options: SwitchOptions,
): Promise<void> {
    const { reporter, home } = options
    const show = (p: string): string => showPath(p, home)
    const keep = new Set(outputsOf(manifest).map((o) => o.path))
    const byPath = new Map<string, Output[]>()
    // Only what the current and pending generations wrote is removed: an older
    // generation above the current one may be one rolled back from, whose
    // files are gone and whose paths may hold the user's files by now.
    for (const earlier of [plan.current, plan.pending]) {
        if (earlier === undefined) continue
        for (const output of outputsOf(earlier)) {
            if (keep.has(output.path)) continue
            byPath.set(output.path, [...byPath.get(output.path) ?? [], output])
        }
    }

    const names = new Set(manifest.secrets.map((s) => s.name))
    for (const secret of plan.current?.secrets ?? []) {
        if (names.has(secret.name)) continue
        result.removed.push(secret.name)
        reporter.info(`${dryRun ? "would remove" : "removed"} ${secret.name}`)
    }

    const outcomes: CleanupOutcome[] = await mapAll([...byPath.values()],
        (records) => removeOutput(records, key, dryRun), { beforeEach: throwIfInterrupted })

    const wanted = new Set(manifest.createdFolders)
    const stale = [plan.current, plan.pending].flatMap((m) => m?.createdFolders ?? [])
        .filter((f) => !wanted.has(f))
    outcomes.push(...await removeCreatedFolders(stale, dryRun))

    for (const outcome of outcomes) {
        if (outcome.action === "removed") {
            reporter.detail(`${dryRun ? "would remove" : "removed"} ${show(outcome.path)}`)
        } else if (outcome.action === "kept") {
            const line = `${show(outcome.path)}: ${outcome.reason}`
            result.kept.push(line)
            reporter.info(`${dryRun ? "would keep" : "kept"} ${line}`)
        }
    }
}

/** What a dry run says about the services: removing the old type's, and the plan's lines. */
function reportServices(plan: Plan, reporter: Reporter): void {
    const work = plan.services
    if (work === undefined) return

    if (work.retiring !== undefined) {
        reporter.info(`would remove the ${work.retiring.kind} services`)
    }
    for (const line of work.plan?.summary ?? []) {
        reporter.info(`would change services: ${line}`)
    }
}

async function finish(
    plan: Plan, manifest: Manifest, created: string[],
    how: { unchanged: boolean, reused: boolean }, options: SwitchOptions,
): Promise<void> {
    const { unchanged, reused } = how
    const paths = plan.paths
    const extra = created.filter((f) => !manifest.createdFolders.includes(f))
    if (extra.length > 0) {
        manifest.createdFolders = outerFirst([...manifest.createdFolders, ...extra])
        await rewriteGeneration(paths, manifest)
    }

    if (!unchanged) await setCurrent(paths, manifest.generation)
    // A run killed between moving `current` and clearing `pending` leaves a mark
    // that points at the current generation; clear any mark that is still there.
    const marked = plan.pending !== undefined || await pendingGeneration(paths) !== undefined
    if (!unchanged || marked) await setPending(paths, undefined)
    if (!unchanged && !reused) {
        const pruned = await pruneGenerations(paths, options.generationsToKeep)
        for (const n of pruned) options.reporter.detail(`pruned generation ${n}`)
    }
}
