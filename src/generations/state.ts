/**
 * Where homeage keeps its state: `$XDG_STATE_HOME/homeage`, by default
 * `~/.local/state/homeage`. Only encrypted sources, manifests, the lock, the
 * hash key and the validated config live here, never plaintext (SPEC §7).
 */
import { lstat } from "node:fs/promises"
import { homedir } from "node:os"
import { isAbsolute, join } from "node:path"

import { OperationError, errnoOf } from "../errors.js"
import { fsReason } from "../fs/errno.js"
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
    /**
     * The last config file validated, in its validated form, so that an
     * unchanged config is not validated again (see config/cache.ts).
     */
    configCache: string
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
        configCache: join(root, "config-cache.json"),
    }
}

/**
 * The state dir for an environment whose `XDG_STATE_HOME` is already resolved
 * (see config/environment.ts): `$XDG_STATE_HOME/homeage`.
 */
export function stateFor(env: { XDG_STATE_HOME: string, HOME: string }): StatePaths {
    return statePaths({ XDG_STATE_HOME: env.XDG_STATE_HOME, HOME: env.HOME })
}

/**
 * Creates the state dir and its folders (mode 0700) if they are missing, and
 * returns the folders this call created, outermost first.
 */
export async function ensureStateDirs(paths: StatePaths): Promise<string[]> {
    const created = await makeFolders(paths.store)
    created.push(...await makeFolders(paths.generations))
    return created
}

/** What kind of entry each part of a state dir is. */
type StateEntryKind = "folder" | "symlink" | "file"

/** One part of a state dir: the kind it must be, what it holds, and the fix when it is not. */
interface StateEntry {
    path: string
    kind: StateEntryKind
    holds: string
    fix: string
}

/** The parts of a state dir below its root. */
function stateEntries(paths: StatePaths): StateEntry[] {
    const restore = "move it away, then run homeage activate, which stores the current " +
        "config again (the generations kept there can no longer be rolled back to)"
    return [
        { path: paths.store, kind: "folder", holds: "the encrypted sources", fix: restore },
        { path: paths.generations, kind: "folder", holds: "the generations", fix: restore },
        {
            path: paths.current, kind: "symlink", holds: "the link to the current generation",
            fix: "remove it, then run homeage rollback N (homeage generations lists them) " +
                "or homeage activate",
        },
        {
            path: paths.pending, kind: "symlink", holds: "the mark of an unfinished switch",
            fix: "remove it, then run homeage activate to repair what that switch left",
        },
        {
            path: paths.lock, kind: "file", holds: "the lock",
            fix: "remove it once no homeage is running",
        },
        {
            path: paths.hashKey, kind: "file", holds: "the hash key",
            fix: "move it away, then run homeage activate (files written before are then " +
                "not recognized as homeage's, so they are kept, not removed)",
        },
        { path: paths.handover, kind: "file", holds: "the handover mark", fix: "remove it" },
        {
            path: paths.serviceFolders, kind: "file",
            holds: "the list of folders made for services", fix: "remove it",
        },
    ]
}

async function kindAt(path: string): Promise<StateEntryKind | "other"> {
    const st = await lstat(path)
    if (st.isDirectory()) return "folder"
    if (st.isSymbolicLink()) return "symlink"
    if (st.isFile()) return "file"
    return "other"
}

const KIND_WORDS: Record<StateEntryKind | "other", string> = {
    folder: "a folder", symlink: "a symlink", file: "a regular file", other: "a special file",
}

/**
 * Checks that the state dir has the shape homeage gave it: its root and
 * `store/`, `generations/` folders, `current` and `pending` symlinks, and
 * regular files for the rest; missing parts are fine. Throws an
 * `OperationError` listing every part that is something else, each with its
 * fix, instead of letting a later call fail with a bare ENOTDIR or EINVAL.
 */
export async function verifyStateDir(paths: StatePaths): Promise<void> {
    const problems: string[] = []

    let root: StateEntryKind | "other" | undefined
    try {
        root = await kindAt(paths.root)
    } catch (err) {
        if (errnoOf(err) === "ENOENT") return
        problems.push(`${paths.root}: ${fsReason(err, paths.root)}`)
    }
    if (root !== undefined && root !== "folder") {
        problems.push(`${paths.root} is ${KIND_WORDS[root]}, but homeage keeps its state in ` +
            "a folder there; move it away, then run homeage activate")
    }

    if (problems.length === 0) {
        for (const entry of stateEntries(paths)) {
            let kind
            try {
                kind = await kindAt(entry.path)
            } catch (err) {
                if (errnoOf(err) === "ENOENT") continue
                problems.push(`${entry.path}: ${fsReason(err, entry.path)}`)
                continue
            }
            if (kind === entry.kind) continue
            problems.push(`${entry.path} is ${KIND_WORDS[kind]}, but homeage keeps ` +
                `${entry.holds} there as ${KIND_WORDS[entry.kind]}; ${entry.fix}`)
        }
    }

    if (problems.length > 0) {
        throw new OperationError(`homeage's state dir ${paths.root} is damaged; nothing was ` +
            "changed", { problems })
    }
}
