/**
 * Conflicts between outputs once symlinks are followed. The config's own check
 * (config/conflicts.ts) compares paths as text, so `~/x/f` and `~/xl/f` pass
 * when `~/xl` links to `~/x`, and a symlink `~/rtlink/a` through a link to the
 * runtime dir lands on its own plaintext. Here every output is placed at the
 * real path of its deepest existing folder plus the rest of its path (the last
 * part is never followed: an output may itself be a symlink) and compared
 * again: same file, an output inside another, the runtime dir, homeage's state
 * dir, its own inputs (config file, sources, identity files) and the folders
 * holding them, and the home folder or a folder above it.
 */
import { lstatSync } from "node:fs"
import { basename, dirname, join } from "node:path"

import { formatKeyPath, type KeySegment } from "../config/key-path.js"
import { isInside, realFolder, realLocation } from "../fs/folders.js"

/** One conflict: the message, and the secrets it involves (so `start` can fail just those). */
export interface RealConflict {
    message: string
    secrets: string[]
    /**
     * The output refused for what it is (homeage's own path, an input, the
     * home folder), whatever is there: no `--backup` can make it a target.
     */
    refused?: string
}

/** What the comparison needs of a secret; a config's and a stored generation's both fit. */
export interface ConflictSecret {
    name: string
    source: string
    path: string
    symlinks: string[]
    copies: string[]
}

/** The secrets and paths to compare: a config's or a stored generation's. */
export interface RealConflictInput {
    secrets: readonly ConflictSecret[]
    runtimeDir: string
    stateDir: string
    configFile: string | null
    identityPaths: string[]
    /** The home folder: an output there or above it would replace the whole home. */
    home?: string | undefined
    /**
     * Whether conflicts visible as text were already reported (by the config's
     * own check); then only those that symlinks hide are reported here.
     */
    textChecked: boolean
}

interface Located {
    secret: string
    kind: "path" | "symlink" | "copy"
    at: KeySegment[]
    file: string
    real: string
}

function locate(input: RealConflictInput): Located[] {
    const cache = new Map<string, string>()
    const real = (file: string): string => {
        const folder = dirname(file)
        let base = cache.get(folder)
        if (base === undefined) {
            base = dirname(realLocation(`${folder}/x`))
            cache.set(folder, base)
        }
        return `${base === "/" ? "" : base}/${file.slice(folder.length + 1)}`
    }

    const located: Located[] = []
    for (const secret of input.secrets) {
        const at = (...rest: KeySegment[]): KeySegment[] => ["secrets", secret.name, ...rest]
        located.push({
            secret: secret.name, kind: "path", at: at("path"), file: secret.path,
            real: real(secret.path),
        })
        for (const [i, file] of secret.symlinks.entries()) {
            located.push({
                secret: secret.name, kind: "symlink", at: at("symlinks", i), file,
                real: real(file),
            })
        }
        for (const [i, file] of secret.copies.entries()) {
            located.push({
                secret: secret.name, kind: "copy", at: at("copies", i), file,
                real: real(file),
            })
        }
    }
    return located
}

/** Where a file or folder really is, every part of its path followed, the last one too. */
function realOf(path: string): string {
    return realFolder(path)
}

/**
 * {@link realOf} for many paths in few folders (a thousand sources in one
 * folder, say): each folder is resolved once, and a path that is not itself
 * a symlink is its real folder plus its name, one `lstat` instead of one per
 * part of its path.
 */
function realOfMany(): (path: string) => string {
    const folders = new Map<string, string>()
    const folderOf = (folder: string): string => {
        let real = folders.get(folder)
        if (real === undefined) {
            real = realOf(folder)
            folders.set(folder, real)
        }
        return real
    }

    return (path) => {
        const folder = dirname(path)
        if (folder === path) return realOf(path)
        let follow: boolean
        try {
            follow = lstatSync(path).isSymbolicLink()
        } catch {
            follow = true
        }
        return follow ? realOf(path) : join(folderOf(folder), basename(path))
    }
}

function sameFileMessage(earlier: Located, later: Located): string {
    const here = formatKeyPath(later.at)
    const there = formatKeyPath(earlier.at)
    const both = `once symlinks are followed (both are ${later.real})`
    if (earlier.secret !== later.secret) {
        return `${here}: ${later.file} is the same file as ${there} (${earlier.file}) ${both}; ` +
            "a file can be the output of one secret only"
    }
    if (earlier.kind === "path" && later.kind === "symlink") {
        return `${here}: ${later.file} is the secret's own path ${earlier.file} ${both}; a ` +
            "symlink there would replace the plaintext with a link to itself"
    }
    if (earlier.kind === "path") {
        return `${here}: ${later.file} is the secret's own path ${earlier.file} ${both}; a ` +
            "copy there would replace it"
    }
    return `${here}: ${later.file} is the same file as ${there} (${earlier.file}) ${both}`
}

/**
 * Every conflict between the outputs of `input` that shows once symlinks are
 * followed, worded as the config's own check words them. With `textChecked`,
 * conflicts already visible as text are left to that check. Reads the disk
 * (realpath), changes nothing.
 */
export function realConflicts(input: RealConflictInput): RealConflict[] {
    const located = locate(input)
    const conflicts: RealConflict[] = []
    const hidden = (textual: boolean): boolean => !input.textChecked || !textual

    const byReal = new Map<string, Located>()
    for (const output of located) {
        const first = byReal.get(output.real)
        if (first === undefined) {
            byReal.set(output.real, output)
        } else if (hidden(first.file === output.file)) {
            conflicts.push({
                message: sameFileMessage(first, output), secrets: [first.secret, output.secret],
            })
        }
    }

    for (const output of located) {
        for (let folder = dirname(output.real); folder !== "/"; folder = dirname(folder)) {
            const outer = byReal.get(folder)
            if (outer === undefined || !hidden(isInside(output.file, outer.file))) continue
            conflicts.push({
                message: `${formatKeyPath(output.at)}: ${output.file} is inside ${outer.file} ` +
                    `once symlinks are followed, which is ${formatKeyPath(outer.at)} (a file, ` +
                    "not a folder)",
                secrets: [outer.secret, output.secret],
            })
        }
    }

    conflicts.push(...ownPathConflicts(input, located, hidden))
    return conflicts
}

/** Outputs at or above the runtime dir or the state dir, or on one of homeage's inputs. */
function ownPathConflicts(
    input: RealConflictInput, located: Located[], hidden: (textual: boolean) => boolean,
): RealConflict[] {
    const conflicts: RealConflict[] = []
    const runtimeDir = realOf(input.runtimeDir)
    const stateDir = realOf(input.stateDir)
    const named: { file: string, what: string }[] = [
        ...input.configFile === null ? [] : [{ file: input.configFile, what: "the config file" }],
        ...input.secrets.map((secret) =>
            ({ file: secret.source, what: `the encrypted source of secret ${secret.name}` })),
        ...input.identityPaths.map((file) => ({ file, what: "an identity file" })),
    ]
    const real = realOfMany()
    const reals = named.map(({ file }) => real(file))
    const inputs = new Map<string, [string, string]>()
    for (const [i, { file, what }] of named.entries()) inputs.set(reals[i] ?? file, [file, what])
    const holders = foldersHolding(inputs, named)
    const home = input.home === undefined ? undefined : realOf(input.home)
    const homeWay = input.home === undefined ? new Set<string>() : placesOnTheWay(input.home)

    for (const output of located) {
        const here = formatKeyPath(output.at)
        const add = (message: string): void => {
            conflicts.push({ message, secrets: [output.secret], refused: output.file })
        }
        if (output.real === runtimeDir && hidden(output.file === input.runtimeDir)) {
            add(`${here}: ${output.file} is the runtime dir ${input.runtimeDir} once symlinks ` +
                "are followed")
        } else if (isInside(runtimeDir, output.real) && output.real !== runtimeDir
            && hidden(isInside(input.runtimeDir, output.file))) {
            add(`${here}: ${output.file} contains the runtime dir ${input.runtimeDir} once ` +
                "symlinks are followed")
        }

        const inState = isInside(output.real, stateDir)
        if ((inState || isInside(stateDir, output.real))
            && hidden(isInside(output.file, input.stateDir)
                || isInside(input.stateDir, output.file))) {
            add(`${here}: ${output.file} is ${inState ? "in" : "above"} homeage's state dir ` +
                `${input.stateDir} once symlinks are followed; choose a target outside it`)
        }

        const own = inputs.get(output.real)
        if (own !== undefined && hidden(own[0] === output.file)) {
            add(`${here}: ${output.file} is ${own[1]} (${own[0]}) once symlinks are followed; ` +
                "plaintext must never replace it: choose another target")
        }
        const holding = holders.get(output.real)
        if (holding !== undefined) {
            add(`${here}: ${output.file} is a folder holding ${holding[1]} (${holding[0]}); ` +
                "a secret must never take its place, not even with --backup: choose another " +
                "target")
        }
        if (home !== undefined && (homeWay.has(output.real) || isInside(home, output.real))) {
            const itself = output.real === home || output.file === input.home
            add(`${here}: ${output.file} is ${itself ? "" : "above "}the home ` +
                `folder ${input.home ?? home}; a secret must never take its place, not even ` +
                "with --backup: choose a target inside it")
        }
    }
    return conflicts
}

/**
 * Every folder above one of `inputs` (real paths), and every folder its path
 * is named through (a symlink on the way counts as itself), with the first
 * input found under it, so that an output at such a folder is found with one
 * lookup.
 */
function foldersHolding(
    inputs: Map<string, [string, string]>, asNamed: { file: string, what: string }[],
): Map<string, [string, string]> {
    const holders = new Map<string, [string, string]>()
    for (const [path, named] of inputs) {
        for (let folder = dirname(path); !holders.has(folder); folder = dirname(folder)) {
            holders.set(folder, named)
            if (folder === "/") break
        }
    }
    const seen = new Set<string>()
    for (const { file, what } of asNamed) {
        for (let folder = dirname(file); !seen.has(folder); folder = dirname(folder)) {
            seen.add(folder)
            const place = realLocation(folder)
            if (!holders.has(place)) holders.set(place, [file, what])
            if (folder === "/") break
        }
    }
    return holders
}

/**
 * Where `path` and each folder on the way to it as named lie, each once not
 * followed when it is a symlink (so the link itself counts) and once
 * followed: the paths a secret must not take over when `path` is the home
 * folder.
 */
function placesOnTheWay(path: string): Set<string> {
    const places = new Set<string>()
    for (let at = path; at !== "/"; at = dirname(at)) {
        places.add(realLocation(at))
        places.add(realOf(at))
    }
    return places
}
