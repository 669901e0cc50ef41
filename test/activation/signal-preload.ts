/**
 * A preload for the real CLI (`NODE_OPTIONS=--import=…/signal-preload.js`)
 * that acts at an exact point of a run, without any hook in the product:
 * right after homeage opens its first temp file in a given folder.
 *
 * - `HOMEAGE_TEST_SIGNAL=SIG` with `HOMEAGE_TEST_SIGNAL_IN=FOLDER`: sends SIG
 *   (SIGINT, SIGTERM, SIGHUP) to the process itself, so it is handled while
 *   that file is still being written.
 * - `HOMEAGE_TEST_SWAP=FOLDER>TARGET` with `HOMEAGE_TEST_SWAP_IN=DIR`: moves
 *   FOLDER to `FOLDER.away` and puts a symlink to TARGET in its place (an
 *   attacker who swaps a folder after the check).
 *
 * Nothing happens unless the variables are set.
 */
import { renameSync, symlinkSync } from "node:fs"
import { createRequire, syncBuiltinESMExports } from "node:module"
import { basename, dirname } from "node:path"

const require = createRequire(import.meta.url)
// The CommonJS objects behind node:fs/promises and node:fs: replacing a
// function and syncing updates the ESM binding homeage imported.
const fsp = require("node:fs/promises") as Record<string, unknown>
const fsSync = require("node:fs") as Record<string, unknown>

type Open = (path: unknown, ...rest: unknown[]) => Promise<unknown>
type OpenSync = (path: unknown, ...rest: unknown[]) => unknown

/** One action, run once, after the first temp file opened in `folder`. */
interface Trigger {
    folder: string
    act: () => void
    done: boolean
}

const env = process.env
const triggers: Trigger[] = []
const signal = env.HOMEAGE_TEST_SIGNAL as NodeJS.Signals | undefined
if (signal !== undefined && env.HOMEAGE_TEST_SIGNAL_IN !== undefined) {
    triggers.push({
        folder: env.HOMEAGE_TEST_SIGNAL_IN, done: false,
        act: () => { process.kill(process.pid, signal) },
    })
}
const [swapFolder, swapTarget] = env.HOMEAGE_TEST_SWAP?.split(">") ?? []
if (swapFolder !== undefined && swapTarget !== undefined && env.HOMEAGE_TEST_SWAP_IN) {
    triggers.push({
        folder: env.HOMEAGE_TEST_SWAP_IN, done: false,
        act: () => {
            renameSync(swapFolder, `${swapFolder}.away`)
            symlinkSync(swapTarget, swapFolder)
        },
    })
}

/** Runs the triggers waiting for a temp file in the folder of `path`, if it is one. */
function opened(path: unknown): void {
    if (typeof path !== "string" || !basename(path).startsWith(".homeage-tmp-")) return
    for (const trigger of triggers) {
        if (trigger.done || dirname(path) !== trigger.folder) continue
        trigger.done = true
        trigger.act()
    }
}

if (triggers.length > 0) {
    const open = fsp.open as Open
    fsp.open = async (path: unknown, ...rest: unknown[]): Promise<unknown> => {
        const handle = await open(path, ...rest)
        opened(path)
        return handle
    }
    const openSync = fsSync.openSync as OpenSync
    fsSync.openSync = (path: unknown, ...rest: unknown[]): unknown => {
        const fd = openSync(path, ...rest)
        opened(path)
        return fd
    }
    syncBuiltinESMExports()
}
