/**
 * `activate` and `check` as library calls: check everything first, then take
 * the state lock and switch. The CLI commands are thin wrappers around these.
 */
import { setInterruptNote } from "../fs/interrupt.js"
import { acquireLock } from "../generations/lock.js"
import type { Manifest } from "../generations/manifest.js"
import type { StatePaths } from "../generations/state.js"
import type { Desired } from "./desired.js"
import { planActivation, type Plan } from "./plan.js"
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

/**
 * Runs every activation check and changes nothing (`homeage check`). Every
 * secret is decrypted completely. Throws an `OperationError` listing every
 * problem.
 */
export function checkActivation(desired: Desired, options: ActivateOptions): Promise<Plan> {
    return planActivation(desired, { ...options, verifyAll: true })
}

/**
 * Makes the disk match `desired` (SPEC §5, §6): check, then under the state
 * lock store, switch and clean up; then, with the lock released, install the
 * services (their units run `homeage start`/`stop`, which take the lock). A
 * check that fails changes nothing. The check runs first without the lock
 * (so a failing one creates nothing, not even the state dir), then again under
 * it, so a `start`, `stop` or another `activate` in between cannot make the
 * switch work from a stale view of the disk.
 */
export async function activate(desired: Desired, options: ActivateOptions): Promise<SwitchResult> {
    const planOptions = { ...options, verifyAll: false }
    let plan: Plan = await planActivation(desired, planOptions)
    if (options.dryRun === true) return applyPlan(plan, options)

    let result: SwitchResult
    const lock = await acquireLock(options.paths, options.command ?? "activate")
    try {
        plan = await planActivation(desired, planOptions)
        result = await applyPlan(plan, options)
    } finally {
        await lock.release()
    }

    if (plan.services !== undefined) {
        const generation = result.generation ?? 0
        setInterruptNote(`generation ${generation} is current, but its services may not be ` +
            `updated yet: run ${againCommand(options.command, generation)} again`)
        await applyServices(plan.services, options.paths, options.reporter)
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
