/**
 * `rollback`: makes a stored generation current again, through the same
 * check, switch, cleanup and service install as `activate`, from the state
 * dir alone (the encrypted sources come from the store; no config and no
 * dotfiles checkout are needed).
 */
import { OperationError, UsageError } from "../errors.js"
import {
    currentGeneration, listGenerations, readGeneration,
} from "../generations/generations.js"
import { readSettled } from "../generations/lock.js"
import type { StatePaths } from "../generations/state.js"
import { activate } from "./activate.js"
import { desiredFromManifest } from "./desired.js"
import type { Reporter } from "./report.js"
import type { ServiceManagers } from "./services.js"
import type { SwitchResult } from "./switch.js"

/** Rollback keeps every generation: it adds none, so nothing needs pruning. */
const KEEP_ALL = Number.MAX_SAFE_INTEGER

/** Options of {@link rollback}. */
export interface RollbackOptions {
    paths: StatePaths
    reporter: Reporter
    /** The generation to make current; default: the newest one before the current. */
    target?: number | undefined
    /** The service managers, as for `activate`. */
    services?: ServiceManagers | undefined
    /** The home folder, to show paths as `~/…`. */
    home?: string | undefined
}

/**
 * The generation a rollback goes to: `target` when given and stored, else the
 * newest stored generation older than the current one. Throws a UsageError for
 * a generation that is not stored, an OperationError when there is none before.
 */
export async function rollbackTarget(
    paths: StatePaths, target: number | undefined,
): Promise<number> {
    const numbers = await listGenerations(paths)
    if (target !== undefined) {
        if (numbers.includes(target)) return target
        const stored = numbers.length === 0 ? "none" : numbers.join(", ")
        throw new UsageError(`generation ${target} is not stored (stored: ${stored}); ` +
            "homeage generations lists them")
    }

    const current = await currentGeneration(paths)
    if (current === undefined) {
        throw new OperationError("there is no current generation to roll back from; " +
            "name one: homeage rollback N (homeage generations lists them)")
    }
    const earlier = numbers.filter((n) => n < current)
    const previous = earlier[earlier.length - 1]
    if (previous === undefined) {
        throw new OperationError(`generation ${current} is the oldest stored one; ` +
            "there is nothing to roll back to")
    }
    return previous
}

/**
 * Makes generation `target` (default: the one before the current) current:
 * its secrets are decrypted from the store where needed, its outputs written,
 * what the current generation has and it has not cleaned up, and its services
 * installed. The generation keeps its number; no new one is written unless the
 * hash key changed since. Throws as `activate` does.
 */
export async function rollback(options: RollbackOptions): Promise<SwitchResult> {
    // Read without the lock, and again under it if another run was at work
    // meanwhile: an activate may prune the generation chosen here, or, when
    // none is named, make another one current, which moves "the one before".
    const { manifest, desired } = await readSettled(options.paths, "rollback", async () => {
        const number = await rollbackTarget(options.paths, options.target)
        const stored = await readGeneration(options.paths, number)
        return { manifest: stored, desired: await desiredFromManifest(options.paths.store, stored) }
    }, options.target === undefined)

    return activate(desired, {
        paths: options.paths,
        reporter: options.reporter,
        generationsToKeep: KEEP_ALL,
        home: options.home,
        services: options.services,
        command: "rollback",
        restore: manifest,
    })
}
