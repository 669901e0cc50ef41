/**
 * Where `homeage init` puts a new identity, and how a path is shown to the user.
 */
import { isAbsolute, join, relative, sep } from "node:path"

import type { Environment } from "../config/environment.js"

/** Where `homeage init` writes a new identity: `$XDG_CONFIG_HOME/homeage/identity.txt`. */
export function defaultIdentityFile(env: Environment): string {
    return join(env.XDG_CONFIG_HOME, "homeage", "identity.txt")
}

/**
 * A path as a user reads it in messages: relative to `cwd` when it lies inside
 * it, else absolute.
 */
export function displayPath(path: string, cwd: string = process.cwd()): string {
    const rel = relative(cwd, path)
    if (rel === "" || rel === ".." || rel.startsWith(".." + sep) || isAbsolute(rel)) return path
    return rel
}
