/**
 * Conflicts between the outputs of a config's secrets: two outputs at one
 * file, or one output where another needs a folder. They are pure config
 * (no disk), but are reported by activation's check phase with the rest.
 */
import { dirname } from "node:path"

import { type KeySegment, formatKeyPath } from "./key-path.js"
import type { Config } from "./types.js"

/** One file a secret writes: its plaintext path, a symlink or a copy. */
interface Output {
    secret: string
    kind: "path" | "symlink" | "copy"
    at: KeySegment[]
    file: string
}

function outputsOf(config: Config): Output[] {
    const outputs: Output[] = []
    for (const secret of config.secrets) {
        const at = (...rest: KeySegment[]): KeySegment[] => ["secrets", secret.name, ...rest]
        outputs.push({ secret: secret.name, kind: "path", at: at("path"), file: secret.path })
        secret.symlinks.forEach((file, i) => {
            outputs.push({ secret: secret.name, kind: "symlink", at: at("symlinks", i), file })
        })
        secret.copies.forEach((file, i) => {
            outputs.push({ secret: secret.name, kind: "copy", at: at("copies", i), file })
        })
    }
    return outputs
}

/** Why `later` cannot be at the same file as `earlier`, which the config lists first. */
function sameFile(earlier: Output, later: Output): string {
    const here = formatKeyPath(later.at)
    const there = formatKeyPath(earlier.at)
    if (earlier.secret !== later.secret) {
        return `${here}: ${later.file} is also ${there}; a file can be the output of one `
            + "secret only"
    }
    if (earlier.kind === "path" && later.kind === "symlink") {
        return `${here}: ${later.file} is the secret's own path; a symlink there would `
            + "point at itself"
    }
    if (earlier.kind === "path") {
        return `${here}: ${later.file} is the secret's own path; a copy there would replace it`
    }
    return `${here}: ${later.file} is listed twice in this secret (also ${there})`
}

/**
 * Every conflict between the outputs of `config`'s secrets, as one message
 * each that names both key paths: two outputs at the same file (within one
 * secret or across secrets, including a symlink at its own secret's path), an
 * output inside another output (which is a file, not a folder), and an output
 * at or above the runtime dir. Returns an empty list when there is none.
 */
export function findConflicts(config: Config, options: ConflictOptions = {}): string[] {
    const outputs = outputsOf(config)
    const byFile = new Map<string, Output>()
    const conflicts: string[] = []

    for (const output of outputs) {
        const first = byFile.get(output.file)
        if (first === undefined) byFile.set(output.file, output)
        else conflicts.push(sameFile(first, output))
    }

    for (const output of outputs) {
        const here = formatKeyPath(output.at)
        for (let folder = dirname(output.file); folder !== "/"; folder = dirname(folder)) {
            const outer = byFile.get(folder)
            if (outer === undefined) continue
            conflicts.push(`${here}: ${output.file} is inside ${folder}, which is `
                + `${formatKeyPath(outer.at)} (a file, not a folder)`)
        }
    }

    const runtimeDir = config.runtimeDir
    for (const output of outputs) {
        const here = formatKeyPath(output.at)
        if (output.file === runtimeDir) {
            conflicts.push(`${here}: ${output.file} is the runtime dir itself`)
        } else if (runtimeDir.startsWith(`${output.file}/`) || output.file === "/") {
            conflicts.push(`${here}: ${output.file} contains the runtime dir ${runtimeDir}`)
        }
    }

    conflicts.push(...ownFileConflicts(config, outputs, options.stateDir))
    return conflicts
}

/** Options for {@link findConflicts}. */
export interface ConflictOptions {
    /** homeage's state dir: no output may be at, inside or above it. */
    stateDir?: string
}

/**
 * Outputs that would overwrite homeage's own inputs with plaintext: the config
 * file, a secret's encrypted source, an identity file, or anything at, inside
 * or above the state dir. `--backup` must never move these aside.
 */
function ownFileConflicts(config: Config, outputs: Output[], stateDir?: string): string[] {
    const inputs = new Map<string, string>([[config.file, "the config file"]])
    for (const secret of config.secrets) {
        inputs.set(secret.source, `the encrypted source of secret ${secret.name}`)
    }
    for (const identity of config.identityPaths) inputs.set(identity, "an identity file")

    const conflicts: string[] = []
    for (const output of outputs) {
        const here = formatKeyPath(output.at)
        const input = inputs.get(output.file)
        if (input !== undefined) {
            conflicts.push(`${here}: ${output.file} is ${input}; plaintext must never `
                + "replace it: choose another target")
            continue
        }
        if (stateDir === undefined) continue
        const inside = output.file === stateDir || output.file.startsWith(`${stateDir}/`)
        if (inside || stateDir.startsWith(`${output.file}/`)) {
            conflicts.push(`${here}: ${output.file} is ${inside ? "in" : "above"} homeage's `
                + `state dir ${stateDir}; choose a target outside it`)
        }
    }
    return conflicts
}
