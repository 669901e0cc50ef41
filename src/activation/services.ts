/**
 * How activation drives the service layer (SPEC §6): the service manager's
 * plan is computed during the check phase, so its problems are listed with
 * the others and nothing is half-installed, and applied after the switch.
 * With `installationType = "activation"` there is no manager.
 */
import { messageOf } from "../errors.js"
import type { ManifestSecret } from "../generations/manifest.js"
import type { ServiceManager, ServicePlan, ServiceSecret } from "../services/types.js"
import type { DesiredSecret } from "./desired.js"

export type { ServiceManager, ServicePlan } from "../services/types.js"

function sameList(a: readonly string[], b: readonly string[]): boolean {
    return a.length === b.length && a.every((x, i) => x === b[i])
}

/** The service layer's view of the new generation's secrets. */
export function serviceSecrets(
    secrets: DesiredSecret[], previous: ManifestSecret[],
): ServiceSecret[] {
    return secrets.map((s) => {
        const before = previous.find((p) => p.name === s.name)
        const changed = before !== undefined && (before.storeHash !== s.storeHash
            || before.path !== s.path || before.mode !== s.mode
            || !sameList(before.symlinks, s.symlinks) || !sameList(before.copies, s.copies))
        return { name: s.name, path: s.path, symlinks: s.symlinks, copies: s.copies, changed }
    })
}

/**
 * Asks `services` for its plan; a failure becomes a check problem. Returns
 * `undefined` (and adds the problem) when no plan could be made.
 */
export async function planServices(
    services: ServiceManager, secrets: DesiredSecret[], previous: ManifestSecret[],
    problems: string[],
): Promise<ServicePlan | undefined> {
    try {
        const plan = await services.plan(previous.map((p) => p.name),
            serviceSecrets(secrets, previous))
        problems.push(...plan.problems)
        return plan
    } catch (err) {
        problems.push(`${services.kind} services: ${messageOf(err)}`)
        return undefined
    }
}
