/**
 * How activation drives the service layer (SPEC §6): the service manager's
 * plan is computed during the check phase, so its problems are listed with
 * the others and nothing is half-installed, and applied after the switch,
 * once the state lock is released (the units run `homeage start`/`stop`,
 * which take the lock themselves). With `installationType = "activation"`
 * the manager does nothing.
 */
import type { InstallationType } from "../config/types.js"
import { messageOf } from "../errors.js"
import type { ManifestSecret } from "../generations/manifest.js"
import type { StatePaths } from "../generations/state.js"
import type { ServiceManager, ServicePlan, ServiceSecret } from "../services/types.js"
import type { DesiredSecret } from "./desired.js"
import { beginHandover, endHandover } from "./handover.js"
import type { Reporter } from "./report.js"
import {
    foldersToCreate, recordCreatedFolders, removeCreatedServiceFolders,
} from "./service-folders.js"

export type { ServiceManager, ServicePlan } from "../services/types.js"

/**
 * Gives the service manager of an installation type. Activation asks for the
 * new generation's type, and for the previous one's when the type changed, so
 * that what the old type installed is removed.
 */
export type ServiceManagers = (kind: InstallationType) => ServiceManager

/** The service side of a checked activation. */
export interface ServiceWork {
    /** The manager of the new generation's installation type. */
    manager: ServiceManager
    /** Its plan; `undefined` only when planning failed (then the check failed too). */
    plan: ServicePlan | undefined
    /** The manager of the previous installation type, when it differs: removed first. */
    retiring: ServiceManager | undefined
    /** Secrets whose units are restarted or handed over while their files stay. */
    handover: string[]
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
    return a.length === b.length && a.every((x, i) => x === b[i])
}

/**
 * The service layer's view of the new generation's secrets. `repaired` names
 * the secrets whose outputs the check found missing or wrong.
 */
export function serviceSecrets(
    secrets: DesiredSecret[], previous: ManifestSecret[],
    repaired: ReadonlySet<string> = new Set(),
): ServiceSecret[] {
    return secrets.map((s) => {
        const before = previous.find((p) => p.name === s.name)
        const changed = before !== undefined && (before.storeHash !== s.storeHash
            || before.path !== s.path || before.mode !== s.mode
            || !sameList(before.symlinks, s.symlinks) || !sameList(before.copies, s.copies))
        return {
            name: s.name, path: s.path, symlinks: s.symlinks, copies: s.copies, changed,
            repaired: repaired.has(s.name),
        }
    })
}

/**
 * Asks `services` for its plan; a failure becomes a check problem. Returns
 * `undefined` (and adds the problem) when no plan could be made.
 */
export async function planServices(
    services: ServiceManager, secrets: DesiredSecret[], previous: ManifestSecret[],
    problems: string[], repaired: ReadonlySet<string> = new Set(),
): Promise<ServicePlan | undefined> {
    try {
        const plan = await services.plan(previous.map((p) => p.name),
            serviceSecrets(secrets, previous, repaired))
        problems.push(...plan.problems)
        return plan
    } catch (err) {
        problems.push(`${services.kind} services: ${messageOf(err)}`)
        return undefined
    }
}

/** What {@link checkServices} compares: the new and the current generation. */
export interface ServiceCheckInput {
    kind: InstallationType
    /** The current generation's installation type; `undefined` before the first activation. */
    previousKind: InstallationType | undefined
    secrets: DesiredSecret[]
    previous: ManifestSecret[]
    /** Secrets whose outputs the check found missing or wrong. */
    repaired: ReadonlySet<string>
}

/**
 * The check-phase part of the services: the new type's plan, and when the
 * installation type changes, whether the old type's services can be removed.
 * Every problem is added to `problems`; nothing is changed.
 */
export async function checkServices(
    managers: ServiceManagers, input: ServiceCheckInput, problems: string[],
): Promise<ServiceWork> {
    const { kind, previousKind, secrets, previous } = input
    const manager = managers(kind)
    const plan = await planServices(manager, secrets, previous, problems, input.repaired)
    const work: ServiceWork = { manager, plan, retiring: undefined, handover: [] }

    if (previousKind !== undefined && previousKind !== kind) {
        work.retiring = managers(previousKind)
        try {
            problems.push(...await work.retiring.removalProblems())
        } catch (err) {
            problems.push(`${previousKind} services: ${messageOf(err)}`)
        }
        // Everything the old services ran stays in place for the new type.
        work.handover = secrets.map((s) => s.name)
    } else {
        work.handover = serviceSecrets(secrets, previous).filter((s) => s.changed)
            .map((s) => s.name)
    }
    return work
}

/**
 * Carries out the service side after the switch, without the state lock: marks
 * the secrets being handed over, removes the old type's services (and the
 * folders homeage made for them, once empty), applies the new plan, records the
 * folders it created, and clears the mark. Lines go to `reporter`. Returns
 * whether there was anything to do.
 */
export async function applyServices(
    work: ServiceWork, paths: StatePaths, reporter: Reporter,
): Promise<boolean> {
    const plan = work.plan
    const hasWork = work.retiring !== undefined || (plan !== undefined && hasChanges(plan))
    if (!hasWork) return false

    if (work.handover.length > 0) await beginHandover(paths, work.handover)
    try {
        if (work.retiring !== undefined) {
            await work.retiring.remove(reporter)
            await removeCreatedServiceFolders(paths, work.retiring.folders, reporter)
        }
        if (plan === undefined) return true

        const candidates = foldersToCreate(work.manager.folders)
        try {
            await work.manager.apply(plan, reporter)
        } finally {
            await recordCreatedFolders(paths, candidates)
        }
    } finally {
        if (work.handover.length > 0) await endHandover(paths)
    }
    return true
}

/** Whether a plan changes anything (its summary lists one line per change). */
function hasChanges(plan: ServicePlan): boolean {
    return plan.summary.length > 0
}
