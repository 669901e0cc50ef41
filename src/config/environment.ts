/**
 * The parts of the process environment that config loading and activation
 * depend on, read once so that tests can inject a fake home folder and user.
 */
import { homedir, tmpdir, userInfo } from "node:os"
import { isAbsolute, join } from "node:path"

/**
 * The user and folders a config is resolved against. The XDG base folders are
 * always set: an unset, empty or relative variable falls back to its default
 * under `HOME` (XDG Base Directory spec). `XDG_RUNTIME_DIR` has no default and
 * is `undefined` when unset, so that a config using it can say so.
 */
export interface Environment {
    /** The home folder, absolute. */
    HOME: string
    /** The user name. */
    USER: string
    /** The numeric user id. */
    UID: number
    /** The numeric primary group id. */
    GID: number
    /** `$XDG_RUNTIME_DIR`, or `undefined` when unset (no fallback: it must be a tmpfs). */
    XDG_RUNTIME_DIR: string | undefined
    /** `$XDG_CONFIG_HOME`, default `~/.config`. */
    XDG_CONFIG_HOME: string
    /** `$XDG_STATE_HOME`, default `~/.local/state`. */
    XDG_STATE_HOME: string
    /** `$XDG_DATA_HOME`, default `~/.local/share`. */
    XDG_DATA_HOME: string
    /** `$XDG_CACHE_HOME`, default `~/.cache`. */
    XDG_CACHE_HOME: string
    /** `$HOMEAGE_CONFIG`: a config file to use; `undefined` when unset or empty. */
    HOMEAGE_CONFIG: string | undefined
    /** The operating system, which decides the default `installationType` and `runtimeDir`. */
    platform: NodeJS.Platform
    /** The per-user temporary folder, used for the default runtime dir on macOS only. */
    TMPDIR: string
}

/** A variable's value when it is set and not empty. */
function nonEmpty(value: string | undefined): string | undefined {
    return value === undefined || value === "" ? undefined : value
}

/** An XDG folder variable, ignored unless absolute as the XDG spec asks. */
function absoluteOrUndefined(value: string | undefined): string | undefined {
    const set = nonEmpty(value)
    return set !== undefined && isAbsolute(set) ? set : undefined
}

function currentUserName(uid: number): string {
    try {
        return userInfo().username
    } catch {
        // No passwd entry for this uid (some containers): the number still names the user.
        return String(uid)
    }
}

/**
 * Reads the environment homeage resolves paths against. `HOME` and `USER` come
 * from `env` when set, else from the system's user database; `UID` and `GID`
 * always come from the process, never from variables a shell may have faked.
 * @param env - the variables to read, `process.env` unless a test passes its own.
 */
export function environment(env: NodeJS.ProcessEnv = process.env): Environment {
    const uid = process.getuid?.() ?? userInfo().uid
    const gid = process.getgid?.() ?? userInfo().gid
    const home = absoluteOrUndefined(env.HOME) ?? homedir()

    return {
        HOME: home,
        USER: nonEmpty(env.USER) ?? currentUserName(uid),
        UID: uid,
        GID: gid,
        XDG_RUNTIME_DIR: absoluteOrUndefined(env.XDG_RUNTIME_DIR),
        XDG_CONFIG_HOME: absoluteOrUndefined(env.XDG_CONFIG_HOME) ?? join(home, ".config"),
        XDG_STATE_HOME: absoluteOrUndefined(env.XDG_STATE_HOME) ?? join(home, ".local", "state"),
        XDG_DATA_HOME: absoluteOrUndefined(env.XDG_DATA_HOME) ?? join(home, ".local", "share"),
        XDG_CACHE_HOME: absoluteOrUndefined(env.XDG_CACHE_HOME) ?? join(home, ".cache"),
        HOMEAGE_CONFIG: nonEmpty(env.HOMEAGE_CONFIG),
        platform: process.platform,
        TMPDIR: absoluteOrUndefined(env.TMPDIR) ?? tmpdir(),
    }
}
