/**
 * A preload for the real CLI (`NODE_OPTIONS=--import=…/signal-preload.js`)
 * that sends a signal to the process itself at an exact point of a run,
 * without any hook in the product: right after homeage opens its first temp
 * file in the folder `HOMEAGE_TEST_SIGNAL_IN`, it sends `HOMEAGE_TEST_SIGNAL`
 * (SIGINT, SIGTERM, SIGHUP). The signal is then handled while that file is
 * still being written. Nothing happens unless both variables are set.
 */
import { createRequire, syncBuiltinESMExports } from "node:module"
import { basename, dirname } from "node:path"

const require = createRequire(import.meta.url)
// The CommonJS object behind node:fs/promises: replacing a function and
// syncing updates the ESM binding homeage imported.
const fsp = require("node:fs/promises") as Record<string, unknown>

const signal = process.env.HOMEAGE_TEST_SIGNAL as NodeJS.Signals | undefined
const folder = process.env.HOMEAGE_TEST_SIGNAL_IN

type Open = (path: unknown, ...rest: unknown[]) => Promise<unknown>

if (signal !== undefined && folder !== undefined) {
    const open = fsp.open as Open
    let sent = false
    fsp.open = async (path: unknown, ...rest: unknown[]): Promise<unknown> => {
        const handle = await open(path, ...rest)
        if (!sent && typeof path === "string" && dirname(path) === folder
            && basename(path).startsWith(".homeage-tmp-")) {
            sent = true
            process.kill(process.pid, signal)
        }
        return handle
    }
    syncBuiltinESMExports()
}
