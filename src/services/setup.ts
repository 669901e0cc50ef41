/**
 * Checks and defaults for a {@link ServiceSetup}: what every unit and agent
 * needs to run homeage at login without a login shell's environment.
 */
import { isAbsolute } from "node:path"

import { UsageError } from "../errors.js"
import type { ServiceSetup } from "./types.js"

/** A shell-style variable name, as systemd and launchd accept. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Folders after the Node.js binary's own in {@link defaultServicePath}. */
const STANDARD_PATH = ["/usr/local/bin", "/usr/bin", "/bin"]

/**
 * A sensible explicit `PATH` for units and agents: the folder of the Node.js
 * binary first (so a Node.js from a version manager still runs at login), then
 * the standard system folders, without duplicates.
 */
export function defaultServicePath(node: string): string {
    const folder = node.slice(0, node.lastIndexOf("/")) || "/"
    return [...new Set([folder, ...STANDARD_PATH])].join(":")
}

/**
 * Checks that a setup can be written into units and agents: absolute Node.js,
 * CLI, home and config paths, a non-empty `PATH`, valid variable names.
 * Throws a UsageError listing every problem.
 */
export function validateSetup(setup: ServiceSetup): void {
    const problems: string[] = []

    for (const [what, path] of [["Node.js", setup.node], ["CLI", setup.cli],
        ["home", setup.home], ["XDG_CONFIG_HOME", setup.configHome]] as const) {
        if (!isAbsolute(path)) problems.push(`the ${what} path ${path} is not absolute`)
    }
    if (setup.path === "") problems.push("the PATH for services is empty")
    for (const name of Object.keys(setup.environment)) {
        if (!ENV_NAME.test(name)) problems.push(`${name} is not a valid environment variable name`)
        if (name === "PATH") problems.push("PATH is set through its own field, not environment")
    }

    if (problems.length > 0) {
        throw new UsageError("cannot write the login service: " + problems.join("; "),
            { problems })
    }
}
