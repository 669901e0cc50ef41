/**
 * Checks of the runtime dir, the folder that holds plaintext (SPEC §5.1, §7):
 * on tmpfs or ramfs, owned by the user, reached through no symlink someone
 * else owns, private (0700), and with an existing parent (no fallback).
 */
import { chmod, lstat, stat } from "node:fs/promises"
import { dirname, sep } from "node:path"

import { OperationError, errnoOf } from "../errors.js"
import { fsReason } from "../fs/errno.js"
import { memoryBacked } from "../fs/inspect.js"

/** Mode bits that make a folder reachable by the group or others. */
const SHARED_BITS = 0o077

/** The mode the runtime dir is tightened to. */
const RUNTIME_DIR_MODE = 0o700

/** What the runtime dir check found. */
export interface RuntimeDirCheck {
    /** Problems that refuse the activation. */
    problems: string[]
    /** Things to say that do not stop it. */
    warnings: string[]
    /** Whether the folder exists now. */
    exists: boolean
    /** Whether it exists with group/world access and must be tightened to 0700. */
    tighten: boolean
}

function euid(): number {
    return process.geteuid?.() ?? 0
}

/** Every prefix of an absolute path, from the first component down to the path itself. */
function prefixes(path: string): string[] {
    const parts = path.split(sep).filter((p) => p !== "")
    return parts.map((_, i) => sep + parts.slice(0, i + 1).join(sep))
}

async function symlinkProblems(dir: string): Promise<string[]> {
    const problems: string[] = []
    for (const prefix of prefixes(dir)) {
        let st
        try {
            st = await lstat(prefix)
        } catch {
            break
        }
        if (!st.isSymbolicLink()) continue
        if (st.uid !== euid() && st.uid !== 0) {
            problems.push(`runtime dir ${dir} is reached through the symlink ${prefix}, ` +
                `owned by uid ${st.uid}, who could redirect your secrets; ` +
                "set runtimeDir to a path without it")
        }
    }
    return problems
}

/**
 * The warning for launchd users whose runtime dir is on disk: macOS gives a
 * user no memory-backed folder, so the default runtime dir
 * (`$TMPDIR/homeage-secrets`) is on the system disk unless a RAM disk is set up.
 */
export function launchdRuntimeDirWarning(dir: string): string {
    return "installationType launchd: macOS has no memory-backed folder per user, so the " +
        `runtime dir ${dir} (default $TMPDIR/homeage-secrets) is on disk; mount a RAM disk ` +
        "and set runtimeDir to it (docs/services.md shows how)"
}

/**
 * Checks the runtime dir `dir`. Nothing is changed: tightening is reported in
 * `tighten` and done by {@link tightenRuntimeDir} before plaintext is written.
 * With `installationType` launchd, a runtime dir on disk also gets
 * {@link launchdRuntimeDirWarning}.
 */
export async function checkRuntimeDir(
    dir: string, allowPersistent: boolean, installationType?: string,
): Promise<RuntimeDirCheck> {
    const result: RuntimeDirCheck = { problems: [], warnings: [], exists: false, tighten: false }
    result.problems.push(...await symlinkProblems(dir))

    let st
    try {
        st = await stat(dir)
        result.exists = true
    } catch (err) {
        if (errnoOf(err) !== "ENOENT") {
            result.problems.push(`runtime dir ${dir} cannot be inspected: ${fsReason(err, dir)}`)
            return result
        }
    }

    if (st === undefined) {
        const parent = dirname(dir)
        try {
            if (!(await stat(parent)).isDirectory()) throw new Error("not a folder")
        } catch {
            result.problems.push(`runtime dir ${dir} cannot be created: its parent ${parent} ` +
                "does not exist (is XDG_RUNTIME_DIR set up by a login session?); " +
                "set runtimeDir to a folder on tmpfs whose parent exists")
            return result
        }
    } else if (!st.isDirectory()) {
        result.problems.push(`runtime dir ${dir} is not a folder; move it away or ` +
            "set runtimeDir to another path")
        return result
    } else if (st.uid !== euid()) {
        result.problems.push(`runtime dir ${dir} is owned by uid ${st.uid}, not by you ` +
            `(uid ${euid()}); set runtimeDir to a folder of your own`)
        return result
    } else if ((st.mode & SHARED_BITS) !== 0) {
        result.tighten = true
        result.warnings.push(`runtime dir ${dir} is accessible to others (mode ` +
            `${(st.mode & 0o777).toString(8).padStart(4, "0")}); activate makes it 0700`)
    }

    const where = result.exists ? dir : dirname(dir)
    let fsType
    try {
        fsType = await memoryBacked(where)
    } catch (err) {
        result.problems.push(`runtime dir ${dir}: cannot tell its file system: ` +
            fsReason(err, where))
        return result
    }
    if (!fsType.memory) {
        if (installationType === "launchd") result.warnings.push(launchdRuntimeDirWarning(dir))
        const what = `runtime dir ${dir} is not on tmpfs or ramfs (file system type ` +
            `0x${fsType.type.toString(16)}), so plaintext would be written to disk and ` +
            "survive a reboot"
        if (allowPersistent) {
            result.warnings.push(`${what}; allowed by allowPersistentRuntimeDir`)
        } else {
            result.problems.push(`${what}; set runtimeDir to a folder on tmpfs ` +
                "(default $XDG_RUNTIME_DIR/secrets) or set allowPersistentRuntimeDir = true")
        }
    }
    return result
}

/** Sets the runtime dir's mode to 0700 (it holds no plaintext of another mode). */
export async function tightenRuntimeDir(dir: string): Promise<void> {
    try {
        await chmod(dir, RUNTIME_DIR_MODE)
    } catch (err) {
        throw new OperationError(`cannot tighten runtime dir ${dir} to 0700: ` +
            fsReason(err, dir), { cause: err })
    }
}
