/**
 * Sweeping what dead runs left behind: `.homeage-tmp-*` files (a complete
 * plaintext may sit in one after a SIGKILL) in every folder homeage knows: the
 * folders of the outputs of the current, pending and new generations, the
 * runtime dir's whole tree, and the state dir with its store and generations.
 * Runs only under the state lock, where no other run of homeage writes there.
 */
import { readdir } from "node:fs/promises"
import { dirname, join } from "node:path"

import { messageOf } from "../errors.js"
import { removeLeftoverTemps } from "../fs/atomic.js"
import type { ManifestSecret } from "../generations/manifest.js"
import type { StatePaths } from "../generations/state.js"
import { outputsOfSecret } from "./outputs.js"
import type { Reporter } from "./report.js"

/** Most folders of a runtime dir's tree looked into (a runtime dir holds a few). */
const MAX_TREE_FOLDERS = 1000

/** The runtime dir and every folder below it, symlinks not followed, up to a limit. */
async function treeOf(root: string): Promise<string[]> {
    const folders: string[] = []
    const queue = [root]
    while (queue.length > 0 && folders.length < MAX_TREE_FOLDERS) {
        const folder = queue.shift()
        if (folder === undefined) break
        folders.push(folder)
        try {
            for (const entry of await readdir(folder, { withFileTypes: true })) {
                if (entry.isDirectory()) queue.push(join(folder, entry.name))
            }
        } catch {
            // A missing or unreadable folder has nothing to sweep.
        }
    }
    return folders
}

/**
 * Removes leftover temp files of dead runs in the folders of `secrets`'
 * outputs, in the trees of `runtimeDirs`, and in the state dir. Call it with
 * the state lock held. A folder that cannot be read is skipped (said under
 * `-v`): the sweep never stops a run.
 */
export async function sweepLeftovers(
    paths: StatePaths, secrets: readonly ManifestSecret[], runtimeDirs: readonly string[],
    reporter: Reporter,
): Promise<string[]> {
    const folders = new Set([paths.root, paths.store, paths.generations])
    for (const secret of secrets) {
        for (const output of outputsOfSecret(secret)) folders.add(dirname(output.path))
    }
    for (const dir of new Set(runtimeDirs)) {
        for (const folder of await treeOf(dir)) folders.add(folder)
    }

    const removed: string[] = []
    for (const folder of folders) {
        try {
            removed.push(...await removeLeftoverTemps(folder))
        } catch (err) {
            reporter.detail(`not swept for leftover temp files: ${messageOf(err)}`)
        }
    }
    for (const path of removed) reporter.detail(`removed leftover temp file ${path}`)
    return removed
}
