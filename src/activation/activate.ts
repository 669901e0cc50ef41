/**
 * `activate` and `check` as library calls: check everything first, then take
 * the state lock and switch. The CLI commands are thin wrappers around these.
 */
import { interrupted, setInterruptNote } from "../fs/interrupt.js"
import { acquireLock, lockMovedSince, viewLock, type LockView } from "../generations/lock.js"
import { rewriteGeneration } from "../generations/generations.js"
import { lacksDigest, type Manifest } from "../generations/manifest.js"
import type { StatePaths } from "../generations/state.js"
import type { Desired } from "./desired.js"
import { planActivation, type Plan, type PlanOptions } from "./plan.js"
import type { Reporter } from "./report.js"
import { applyServices, type ServiceManagers } from "./services.js"
import { againCommand, applyPlan, type SwitchResult } from "./switch.js"

/** Options of {@link activate} and {@link checkActivation}. */
export interface ActivateOptions {
    paths: StatePaths
    reporter: Reporter
    /** How many generations to keep once a new one is made. */
    generationsToKeep: number
    /** Problems found before (config conflicts), listed with the check's own. */
    problems?: string[]
    /** Rename unmanaged paths in the way to `PATH.EXT` instead of refusing. */
    backup?: string | undefined
    /** Report what would change; change nothing. */
    dryRun?: boolean
    /** The home folder, to show paths as `~/…`. */
    home?: string | undefined
    /**
     * The service managers by installation type: the new type's services are
     * installed after the switch, and the old type's removed when it changed.
     * Without it, services are left as they are.
     */
    services?: ServiceManagers | undefined
    /** The command holding the lock, as shown to a second run (`activate`, `rollback`). */
    command?: string
    /** For rollback: the stored generation that `desired` was made from. */
    restore?: Manifest | undefined
}

/** A plan made without the lock, with the lines it reported held back. */
interface Attempt {
    plan: Plan
    /** Sends the held lines on, once the plan is the one used. */
    replay: () => void
}

/** A reporter that keeps its lines until `replay` sends them to `target`. */
function heldReporter(target: Reporter): { reporter: Reporter, replay: () => void } {
    const lines: [keyof Reporter, string][] = []
    return {
        reporter: {
            info: (line) => { lines.push(["info", line]) },
            detail: (line) => { lines.push(["detail", line]) },
            warn: (line) => { lines.push(["warn", line]) },
        },
        replay: () => {
            for (const [level, line] of lines.splice(0)) target[level](line)
        },
    }
}

/**
 * Plans without the lock. Returns `undefined` when the check failed while
 * another run held the lock or took it since `view`: that run's half-done
 * switch (a temp file, a link being replaced, a generation being written)
 * may be what failed it, so the caller checks again under the lock and
 * reports only that result. A failure with no other run around is reported
 * and thrown as it is.
 */
async function planUnlocked(
    desired: Desired, options: PlanOptions, view: LockView,
): Promise<Attempt | undefined> {
    const held = heldReporter(options.reporter)
    try {
        const plan = await planActivation(desired, { ...options, reporter: held.reporter })
        return { plan, replay: held.replay }
    } catch (err) {
        if (interrupted() || !lockMovedSince(options.paths, view)) {
            held.replay()
            throw err
        }
        options.reporter.detail("the check ran while another homeage changed the state; " +
            "checking again once it is done")
        return undefined
    }
}

/** Plans holding the lock as `command`, for runs that change nothing themselves. */
async function planLocked(desired: Desired, options: PlanOptions, command: string) {
    const lock = await acquireLock(options.paths, command)
    try {
        return await planActivation(desired, options)
    } finally {
        await lock.release()
    }
}

/**
 * Runs every activation check and changes nothing (`homeage check`). Every
 * secret is decrypted completely. Throws an `OperationError` listing every
 * problem. A check that fails while another run is switching is done again
 * once that run is done (see {@link activate}).
 */
export async function checkActivation(desired: Desired, options: ActivateOptions): Promise<Plan> {
    const planOptions = { ...options, verifyAll: true }
    const view = viewLock(options.paths)
    const attempt = await planUnlocked(desired, planOptions, view)
    if (attempt === undefined) return planLocked(desired, planOptions, "check")

    attempt.replay()
    return attempt.plan
}

/**
 * Makes the disk match `desired` (SPEC §5, §6): check, then under the state
 * lock store, switch and clean up; then, with the lock released, install the
 * services (their units run `homeage start`/`stop`, which take the lock). A
 * check that fails changes nothing.
 *
 * The check runs first without the lock, so a failing one creates nothing,
 * not even the state dir. Its plan is used under the lock only when the lock's
 * epoch proves that no other run (start, stop, activate, rollback, deactivate)
 * took the lock in between or held it when the check began; otherwise the
 * check runs again under the lock, so the switch never works from a stale
 * view of the disk. A lock-free check that fails while another run is at work
 * is not reported: it runs again under the lock, and only that result counts.
 */
export async function activate(desired: Desired, options: ActivateOptions): Promise<SwitchResult> {
    const command = options.command ?? "activate"
    const planOptions = { ...options, verifyAll: false }
    const view = viewLock(options.paths)
    const first = await planUnlocked(desired, planOptions, view)
    if (options.dryRun === true) {
        if (first === undefined) {
            return applyPlan(await planLocked(desired, planOptions, `${command} --dry-run`),
                options)
        }
        first.replay()
        return applyPlan(first.plan, options)
    }

    let plan: Plan
    let result: SwitchResult
    const lock = await acquireLock(options.paths, command)
    try {
        if (first !== undefined && lock.unchangedSince(view)) {
            first.replay()
            plan = first.plan
        } else {
            plan = await planActivation(desired, planOptions)
        }
        result = { ...await applyPlan(plan, options), epoch: lock.epoch }
        // The current generation, kept as it was, gets its digest if it has none
        // yet, so that the next runs read it without the schema.
        if (result.unchanged && plan.current !== undefined && lacksDigest(plan.current)) {
            await rewriteGeneration(options.paths, plan.current)
        }
    } finally {
        await lock.release()
    }

    if (plan.services !== undefined) {
        const generation = result.generation ?? 0
        setInterruptNote(`generation ${generation} is current, but its services may not be ` +
            `updated yet: run ${againCommand(options.command, generation)} again`)
        result.servicesChanged = await applyServices(plan.services, options.paths,
            options.reporter)
    }
    return result
}

/** The summary line of an activation: counts, and the generation now current. */
export function summarize(result: SwitchResult, dryRun: boolean): string {
    const parts: string[] = []
    const count = (n: number, word: string): void => {
        if (n > 0) parts.push(`${n} ${word}`)
    }
    count(result.added.length, "added")
    count(result.changed.length, "changed")
    count(result.restored.length, "restored")
    count(result.completed.length, "completed")
    count(result.removed.length, "removed")
    count(result.kept.length, "kept")

    const generation = result.generation === undefined ? "" : ` (generation ${result.generation})`
    if (parts.length === 0 && !result.unchanged && !dryRun) return `no file changed${generation}`
    if (parts.length === 0) return `no changes${generation}`
    if (dryRun) return `dry run: ${parts.join(", ")}; nothing was changed`
    return `${parts.join(", ")}${generation}`
}
