/**
 * Path expansion in the config file (SPEC §3): a leading `~/`, and the
 * variables `$HOME`, `$USER`, `$UID` and the XDG folders in `$X` or `${X}`
 * form. Anything else is an error rather than an empty string, so a typo never
 * turns `$XDG_CONFG_HOME/app/token` into `/app/token`.
 */
import { posix } from "node:path"

import type { Environment } from "./environment.js"

/** The variables a path may use, in the order error messages list them. */
export const PATH_VARIABLES = [
    "HOME", "USER", "UID", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME", "XDG_STATE_HOME",
    "XDG_DATA_HOME", "XDG_CACHE_HOME",
] as const

/** One of {@link PATH_VARIABLES}. */
export type PathVariable = typeof PATH_VARIABLES[number]

/**
 * The result of expanding one path: the value and whether it was relative
 * after expansion (before any base folder was joined), or why it cannot be used.
 */
export type Expansion =
    | { ok: true, value: string, relative: boolean }
    | { ok: false, problem: string }

/** `$NAME` or `${NAME}`; a `$` followed by anything else is reported. */
const VARIABLE = /\$(?:\{([^}]*)\}|([A-Za-z_][A-Za-z0-9_]*))?/g

/** Control characters (C0, DEL and C1), which no path homeage writes may contain. */
const CONTROL = /\p{Cc}/u

function isPathVariable(name: string): name is PathVariable {
    return (PATH_VARIABLES as readonly string[]).includes(name)
}

function variableValue(name: PathVariable, env: Environment): string | undefined {
    if (name === "UID") return String(env.UID)
    return env[name]
}

/**
 * Replaces `~/` at the start and every variable in `text`. Fails on an unknown
 * variable, an unset `$XDG_RUNTIME_DIR`, a lone `$`, an unclosed `${` and a
 * `~user/` form; the problem names the variable and what to write instead.
 */
export function expandVariables(text: string, env: Environment): Expansion {
    let rest = text
    let prefix = ""
    if (rest === "~" || rest.startsWith("~/")) {
        prefix = env.HOME
        rest = rest.slice(1)
    } else if (rest.startsWith("~")) {
        return {
            ok: false,
            problem: "only ~/ (your own home folder) is expanded; write other users' "
                + "folders as absolute paths",
        }
    }

    const problems: string[] = []
    const expanded = rest.replace(VARIABLE, (match, braced: string | undefined,
        bare: string | undefined, offset: number) => {
        const name = braced ?? bare
        if (name === undefined || name === "") {
            problems.push(rest[offset + 1] === "{"
                ? "has a ${ without a variable name and closing } (write ${NAME})"
                : "has a $ that does not start a variable (write $NAME or ${NAME})")
            return match
        }
        if (!isPathVariable(name)) {
            problems.push(`$${name} is not a variable homeage expands `
                + `(known: ${PATH_VARIABLES.map((v) => `$${v}`).join(", ")})`)
            return match
        }
        const value = variableValue(name, env)
        if (value === undefined) {
            problems.push(`$${name} is not set in the environment `
                + "(set it, or write the path without it)")
            return match
        }
        return value
    })

    if (problems.length > 0) return { ok: false, problem: [...new Set(problems)].join("; ") }
    const value = prefix + expanded
    return { ok: true, value, relative: !posix.isAbsolute(value) }
}

/** Options for {@link resolvePath}. */
export interface ResolveOptions {
    /** The folder a relative path is taken relative to; without it a relative path fails. */
    base?: string
    /** How to say what an absolute path looks like, for a relative one without `base`. */
    relativeHint?: string
}

/**
 * Expands `text` and makes it a normalized absolute path: `..` resolved, no
 * trailing `/`. A relative result is joined to `options.base`, or is a problem
 * when there is none. Empty paths and control characters are problems.
 */
export function resolvePath(text: string, env: Environment, options: ResolveOptions = {}):
Expansion {
    if (text === "") return { ok: false, problem: "must not be empty" }
    if (CONTROL.test(text)) return { ok: false, problem: "contains a control character" }

    const expansion = expandVariables(text, env)
    if (!expansion.ok) return expansion

    let value = expansion.value
    if (expansion.relative) {
        if (options.base === undefined) {
            const hint = options.relativeHint ?? "an absolute path or one starting with ~/"
            return { ok: false, problem: `${JSON.stringify(value)} is relative; write ${hint}` }
        }
        value = posix.join(options.base, value)
    }
    if (CONTROL.test(value)) {
        return { ok: false, problem: "contains a control character after expansion" }
    }

    const normalized = posix.normalize(value)
    const trimmed = normalized.length > 1 ? normalized.replace(/\/+$/, "") : normalized
    return { ok: true, value: trimmed, relative: expansion.relative }
}
