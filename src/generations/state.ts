/**
 * Where homeage keeps its state: `$XDG_STATE_HOME/homeage`, by default
 * `~/.local/state/homeage`. Only encrypted sources, manifests, the lock and
 * the hash key live here, never plaintext (SPEC §7).
 */
import { homedir } from "node:os"
import { isAbsolute, join } from "node:path"

import { makeFolders } from "../fs/folders.js"

/** The files and folders of one state dir. */
export interface StatePaths {
    /** The state dir itself. */
    root: string
    /** Content-addressed store of encrypted sources. */
    store: string
    /** One manifest per generation, `N.json`. */
    generations: string
    /** Symlink to the current generation's manifest. */
    current: string
    /** Symlink to a generation whose switch started but did not finish. */
    pending: string
    /** The lock file of mutating commands. */
    lock: string
    /** The key of the keyed hashes of written plaintext. */
    hashKey: string
    /**
     * Secrets `activate` is replacing while it restarts their units, so the
     * stop half of a restart keeps the new files (see activation/handover.ts).
     */
    handover: string
    /** Folders homeage created for service files, removed with the services once empty. */
    serviceFolders: string
}

/**
 * The state dir for an environment: `$XDG_STATE_HOME/homeage` when that is an
 * absolute path, else `$HOME/.local/state/homeage`.
 */
export function statePaths(env: NodeJS.ProcessEnv): StatePaths {
    const xdg = env.XDG_STATE_HOME
    const home = env.HOME !== undefined && env.HOME !== "" ? env.HOME : homedir()
    const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(home, ".local", "state")
    const root = join(base, "homeage")
    return {
        root,
        store: join(root, "store"),
        generations: join(root, "generations"),
        current: join(root, "current"),
        pending: join(root, "pending"),
        lock: join(root, "lock"),
        hashKey: join(root, "hash-key"),
        handover: join(root, "handover.json"),
        serviceFolders: join(root, "service-folders.json"),
    }
}

/** Creates the state dir and its folders (mode 0700) if they are missing. */
export async function ensureStateDirs(paths: StatePaths): Promise<void> {
    await makeFolders(paths.store)
    await makeFolders(paths.generations)
}
