/**
 * `deactivate`: removes everything homeage made, under the cleanup rules
 * (SPEC §5.4): the services of every installation type, then the outputs of
 * the current generation (and of a switch that did not finish) and the
 * folders homeage created for them once empty. The generations stay stored,
 * but none is current, so nothing brings the secrets back at login. With
 * `purge`, the state dir goes too.
 */
import { rm } from "node:fs/promises"

import type { InstallationType } from "../config/types.js"
import { OperationError, messageOf } from "../errors.js"
import { fsReason } from "../fs/errno.js"
import { inspectPath } from "../fs/inspect.js"
import { InterruptedError, setInterruptNote, throwIfInterrupted } from "../fs/interrupt.js"
import {
    pendingGeneration, readCurrent, readGeneration, setPending,
} from "../generations/generations.js"
import { readHashKey } from "../generations/keyed-hash.js"
import { acquireLock } from "../generations/lock.js"
import type { Manifest } from "../generations/manifest.js"
import type { StatePaths } from "../generations/state.js"
import { removeCreatedFolders, removeOutput, type CleanupOutcome } from "./cleanup.js"
import { sweepLeftovers } from "./leftovers.js"
import { outputsOf, type Output } from "./outputs.js"
import { showPath, type Reporter } from "./report.js"
import { removeCreatedServiceFolders } from "./service-folders.js"
import type { ServiceManagers } from "./services.js"

/** The installation types whose services `deactivate` looks for, whatever is current. */
const SERVICE_KINDS: readonly InstallationType[] = ["systemd", "launchd"]

/** Options of {@link deactivate}. */
export interface DeactivateOptions {
    paths: StatePaths
    reporter: Reporter
    /** The service managers by installation type. */
    services: ServiceManagers
    /** Also remove the state dir: generations, store, hash key. */
    purge?: boolean
    /** The home folder, to show paths as `~/…`. */
    home?: string | undefined
}

/** What {@link deactivate} did. */
export interface DeactivateResult {
    /** The generation that was current, if any. */
    generation: number | undefined
    /** Paths removed. */
    removed: string[]
    /** Paths kept, with the reason. */
    kept: string[]
    /** Whether the state dir was removed by this run (`false` when there was none). */
    purged: boolean
    /** Whether there was a state dir at all when the run began. */
    hadState: boolean
}

async function readPending(paths: StatePaths, current: Manifest | undefined) {
    const pending = await pendingGeneration(paths)
    if (pending === undefined || pending === current?.generation) return undefined
    try {
        return await readGeneration(paths, pending)
    } catch {
        return undefined
    }
}

/**
 * Removes the services first, without the state lock (stopping a secret unit
 * runs `homeage stop`, which takes it), then under the lock every output
 * still there and the folders homeage created, and the `current` and
 * `pending` marks. Throws an OperationError listing what could not be removed.
 */
export async function deactivate(options: DeactivateOptions): Promise<DeactivateResult> {
    const { paths, reporter } = options
    setInterruptNote("some outputs or services may still be in place: run homeage " +
        "deactivate again")
    const hadState = inspectPath(paths.root).kind !== "missing"
    const before = await readCurrent(paths)

    const kinds = new Set<InstallationType>(SERVICE_KINDS)
    if (before !== undefined) kinds.add(before.installationType)
    const problems: string[] = []
    for (const kind of kinds) {
        throwIfInterrupted()
        const manager = options.services(kind)
        try {
            await manager.remove(reporter)
            await removeCreatedServiceFolders(paths, manager.folders, reporter)
        } catch (err) {
            if (err instanceof InterruptedError) throw err
            problems.push(`${kind} services: ${messageOf(err)}`)
        }
    }

    const result: DeactivateResult = {
        generation: before?.generation, removed: [], kept: [], purged: false, hadState,
    }
    if (hadState) await removeEverything(options, result)

    if (problems.length > 0) {
        throw new OperationError("the outputs are removed, but some services could not be",
            { problems })
    }
    return result
}

/** Under the lock: every output still there, the folders made for them, the marks, the state. */
async function removeEverything(
    options: DeactivateOptions, result: DeactivateResult,
): Promise<void> {
    const { paths, reporter } = options
    const show = (p: string): string => showPath(p, options.home)
    const lock = await acquireLock(paths, "deactivate")
    try {
        const current = await readCurrent(paths)
        const pending = await readPending(paths, current)
        const manifests = [current, pending].filter((m) => m !== undefined)
        await sweepLeftovers(paths, manifests.flatMap((m) => m.secrets),
            manifests.map((m) => m.runtimeDir), reporter)
        const outcomes = await removeOutputs(manifests, await readHashKey(paths.hashKey))
        outcomes.push(...await removeCreatedFolders(
            manifests.flatMap((m) => m.createdFolders), false))

        for (const outcome of outcomes) {
            if (outcome.action === "removed") {
                result.removed.push(outcome.path)
                reporter.detail(`removed ${show(outcome.path)}`)
            } else if (outcome.action === "kept") {
                const line = `${show(outcome.path)}: ${outcome.reason}`
                result.kept.push(line)
                reporter.info(`kept ${line}`)
            }
        }

        await setPending(paths, undefined)
        await rm(paths.current, { force: true })
        if (options.purge === true) {
            try {
                await rm(paths.root, { recursive: true, force: true })
            } catch (err) {
                throw new OperationError("the outputs are removed, but the state dir " +
                    `${paths.root} could not be: ${fsReason(err, paths.root)}`, { cause: err })
            }
            result.purged = true
        }
    } finally {
        await lock.release()
    }
}

async function removeOutputs(
    manifests: Manifest[], key: Uint8Array | undefined,
): Promise<CleanupOutcome[]> {
    const byPath = new Map<string, Output[]>()
    for (const manifest of manifests) {
        // Symlinks and copies first, the plaintext they point to last.
        for (const output of outputsOf(manifest).reverse()) {
            byPath.set(output.path, [...byPath.get(output.path) ?? [], output])
        }
    }

    const outcomes: CleanupOutcome[] = []
    for (const records of byPath.values()) {
        throwIfInterrupted()
        outcomes.push(await removeOutput(records, key, false))
    }
    return outcomes
}
