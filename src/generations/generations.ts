/**
 * Numbered generations in the state dir: `generations/N.json` manifests, a
 * `current` symlink switched atomically, and a `pending` symlink that marks a
 * switch in progress (so the next run knows what a crash may have left).
 */
import { readFile, readdir, readlink, rm } from "node:fs/promises"
import { join } from "node:path"

import { OperationError, errnoOf } from "../errors.js"
import { replaceWithSymlink, writeFileAtomic } from "../fs/atomic.js"
import { fsReason } from "../fs/errno.js"
import { ensureStateDirs, verifyStateDir, type StatePaths } from "./state.js"
import {
    parseManifest, serializeManifest, validateManifest, type Manifest,
} from "./manifest.js"
import { pruneStore } from "./store.js"

/** Mode of manifest files. */
const MANIFEST_MODE = 0o600

const GENERATION_FILE = /^([1-9]\d*)\.json$/

/** The manifest file of generation `n`. */
export function generationFile(paths: StatePaths, n: number): string {
    return join(paths.generations, `${n}.json`)
}

/** The numbers of every stored generation, ascending. */
export async function listGenerations(paths: StatePaths): Promise<number[]> {
    let names: string[]
    try {
        names = await readdir(paths.generations)
    } catch (err) {
        if (errnoOf(err) === "ENOENT") return []
        await verifyStateDir(paths)
        throw new OperationError(`cannot read ${paths.generations}: ` +
            fsReason(err, paths.generations), { cause: err })
    }

    const numbers: number[] = []
    for (const name of names) {
        const match = GENERATION_FILE.exec(name)
        if (match?.[1] !== undefined) numbers.push(Number(match[1]))
    }
    return numbers.sort((a, b) => a - b)
}

async function pointer(paths: StatePaths, link: string): Promise<number | undefined> {
    let target: string
    try {
        target = await readlink(link)
    } catch (err) {
        if (errnoOf(err) === "ENOENT") return undefined
        await verifyStateDir(paths)
        throw new OperationError(`cannot read ${link}: ${fsReason(err, link)}`, { cause: err })
    }

    const match = GENERATION_FILE.exec(target.split("/").pop() ?? "")
    if (match?.[1] === undefined) {
        throw new OperationError(`${link} points to ${target}, which is not a generation; ` +
            "remove it and run homeage activate")
    }
    return Number(match[1])
}

/** The current generation's number; `undefined` before the first activation. */
export function currentGeneration(paths: StatePaths): Promise<number | undefined> {
    return pointer(paths, paths.current)
}

/** The generation whose switch started and did not finish, if any. */
export function pendingGeneration(paths: StatePaths): Promise<number | undefined> {
    return pointer(paths, paths.pending)
}

/**
 * Reads generation `n`'s manifest. One that homeage wrote and nobody changed
 * is read without the schema (see {@link parseManifest}).
 */
export async function readGeneration(paths: StatePaths, n: number): Promise<Manifest> {
    const file = generationFile(paths, n)
    let text: string
    try {
        text = await readFile(file, "utf8")
    } catch (err) {
        if (errnoOf(err) !== "ENOENT") await verifyStateDir(paths)
        const why = errnoOf(err) === "ENOENT"
            ? "is missing; run homeage generations to see the stored ones, then homeage " +
                "rollback N or homeage activate"
            : `cannot be read: ${fsReason(err, file)}`
        throw new OperationError(`generation ${n} (${file}) ${why}`, { cause: err })
    }
    return parseManifest(text, file)
}

/** The current generation's manifest; `undefined` before the first activation. */
export async function readCurrent(paths: StatePaths): Promise<Manifest | undefined> {
    const n = await currentGeneration(paths)
    return n === undefined ? undefined : readGeneration(paths, n)
}

/**
 * Writes `manifest` as a new generation numbered after every stored one, and
 * returns it with its number. It is validated against the schema first, so
 * that its digest vouches for a valid manifest. It is not made current: see {@link setCurrent}.
 */
export async function writeGeneration(
    paths: StatePaths, manifest: Omit<Manifest, "generation">,
): Promise<Manifest> {
    await ensureStateDirs(paths)
    const numbers = await listGenerations(paths)
    const generation = (numbers[numbers.length - 1] ?? 0) + 1
    const full: Manifest = { ...manifest, generation }
    const file = generationFile(paths, generation)
    await validateManifest(full, file)
    await writeFileAtomic(file, Buffer.from(serializeManifest(full)), MANIFEST_MODE)
    return full
}

/**
 * Rewrites an existing generation's manifest in place (atomically). Used only
 * to record folders created while repairing that generation's outputs.
 */
export async function rewriteGeneration(paths: StatePaths, manifest: Manifest): Promise<void> {
    const file = generationFile(paths, manifest.generation)
    await validateManifest(manifest, file)
    await writeFileAtomic(file, Buffer.from(serializeManifest(manifest)), MANIFEST_MODE)
}

/** Makes generation `n` current, atomically (a symlink renamed over the old one). */
export async function setCurrent(paths: StatePaths, n: number): Promise<void> {
    await replaceWithSymlink(paths.current, join("generations", `${n}.json`))
}

/** Marks generation `n` as being switched to, or clears the mark (`undefined`). */
export async function setPending(paths: StatePaths, n: number | undefined): Promise<void> {
    if (n === undefined) {
        await rm(paths.pending, { force: true })
        return
    }
    await replaceWithSymlink(paths.pending, join("generations", `${n}.json`))
}

/**
 * Removes the oldest generations so that at most `keep` remain, never the
 * current or pending one, then removes store files no remaining generation
 * refers to. Returns the removed generation numbers.
 */
export async function pruneGenerations(paths: StatePaths, keep: number): Promise<number[]> {
    const numbers = await listGenerations(paths)
    const current = await currentGeneration(paths)
    const pending = await pendingGeneration(paths)
    const excess = Math.max(0, numbers.length - Math.max(keep, 1))
    const removable = numbers.filter((n) => n !== current && n !== pending).slice(0, excess)

    for (const n of removable) await rm(generationFile(paths, n), { force: true })

    const hashes = new Set<string>()
    for (const n of numbers.filter((x) => !removable.includes(x))) {
        for (const s of (await readGeneration(paths, n)).secrets) hashes.add(s.storeHash)
    }
    await pruneStore(paths.store, hashes)
    return removable
}
