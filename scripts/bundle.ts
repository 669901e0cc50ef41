/**
 * Bundles the command line into `dist/cli/` with esbuild, and makes its code
 * cache:
 * - `homeage.cjs`: the whole command line as one CommonJS module, already
 *   inside its wrapper function. Commands loaded with `import()` become
 *   functions that run only when their command does.
 * - `launch.cjs`: the loader that `bin/homeage.js` requires (src/cli/launch.ts).
 * - `early.cjs`: what `bin/homeage.js` tries first for `activate`: the answer
 *   from the record of an unchanged run, without the command line
 *   (src/cli/early.ts).
 * - `homeage.cjs.cache`: V8's code cache of the bundle, made by running the
 *   everyday commands once (scripts/code-cache.ts), headed by the bundle's
 *   SHA-256. A run while it is being made compiles as if there were none.
 *
 * One file read and a cached compile replace resolving some fifty ES modules
 * and compiling them at every start. The library (`dist/src/`, built by tsc)
 * is not bundled.
 *
 * Usage: node dist/scripts/bundle.js (run by `npm run build`).
 */
import { spawnSync } from "node:child_process"
import { randomBytes } from "node:crypto"
import { renameSync, rmSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

import { build } from "esbuild"
import type { BuildOptions, Plugin } from "esbuild"

const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const OUT_DIR = join(ROOT, "dist", "cli")
/**
 * Built here first, then swapped in, so a run of the CLI meanwhile sees a whole
 * bundle. Named for this build, so that two builds at once do not mix.
 */
const NEW_DIR = `${OUT_DIR}.new-${process.pid}-${randomBytes(4).toString("hex")}`
const BUNDLE_NAME = "homeage.cjs"

/** Tries at putting the new bundle in place while other builds do the same. */
const SWAP_ATTEMPTS = 5

/**
 * A CommonJS file has no `import.meta`; code that finds the package from its
 * own location (src/package.ts) gets the bundle's file URL instead.
 */
const MODULE_URL = "__homeageModuleUrl"

/**
 * The bundle is a script whose value is the function Node's loader would wrap a
 * CommonJS module in (src/cli/launch.ts calls it).
 */
const WRAPPER_START =
    "(function (exports, require, module, __filename, __dirname) { \"use strict\";"

const COMMON: BuildOptions = {
    absWorkingDir: ROOT,
    bundle: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    minify: true,
    keepNames: true,
    legalComments: "linked",
    logLevel: "warning",
}

/**
 * node:child_process, with the net and stream modules it loads, costs a few
 * milliseconds at every start, yet only some commands start a process
 * (systemctl, getent, an editor, askpass), and commander requires it at load.
 * In the bundle it is a module of the same functions that loads the real one
 * at their first call. A function missing here is a build error, not a
 * surprise at run time.
 */
const LAZY_CHILD_PROCESS = `
let loaded
function load() { return loaded ??= require("node:child_process") }
export function spawn(...args) { return load().spawn(...args) }
export function execFile(...args) { return load().execFile(...args) }
`

const lazyChildProcess: Plugin = {
    name: "lazy-child-process",
    setup(plugin) {
        const NAMESPACE = "lazy-child-process"
        plugin.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
            args.namespace === NAMESPACE
                ? { path: args.path, external: true }
                : { path: "child_process", namespace: NAMESPACE })
        plugin.onLoad({ filter: /.*/, namespace: NAMESPACE }, () => ({
            contents: LAZY_CHILD_PROCESS, loader: "js",
        }))
    },
}

rmSync(NEW_DIR, { recursive: true, force: true })
await build({
    ...COMMON,
    entryPoints: ["src/cli/main.ts"],
    outfile: join(NEW_DIR, BUNDLE_NAME),
    plugins: [lazyChildProcess],
    define: { "import.meta.url": MODULE_URL },
    banner: {
        js: `${WRAPPER_START}\n` +
            `var ${MODULE_URL} = require("node:url").pathToFileURL(__filename).href;`,
    },
    footer: { js: "})" },
})
await build({
    ...COMMON,
    entryPoints: ["src/cli/launch.ts"],
    outfile: join(NEW_DIR, "launch.cjs"),
})
await build({
    ...COMMON,
    entryPoints: ["src/cli/early.ts"],
    outfile: join(NEW_DIR, "early.cjs"),
    define: { "import.meta.url": MODULE_URL },
    banner: { js: `var ${MODULE_URL} = require("node:url").pathToFileURL(__filename).href;` },
})

swapIn()

// Made in place: V8 keeps the file name the cache was made under, for stack traces.
// Without NODE_OPTIONS: V8 takes a cache only under the flags it was made with.
const trainingEnv = { ...process.env }
delete trainingEnv.NODE_OPTIONS
const trained = spawnSync(process.execPath,
    [join(ROOT, "dist", "scripts", "code-cache.js"), join(OUT_DIR, BUNDLE_NAME)],
    { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8", env: trainingEnv })
if (trained.status !== 0) {
    process.stderr.write(`${trained.stderr}bundle: warning: no code cache was made, so ` +
        "every run compiles the command line (slower, same results)\n")
}

/**
 * Moves the current `dist/cli/` aside and the new one into its place. Another
 * build may put its own in place between the two renames; then its bundle is
 * moved aside in turn.
 */
function swapIn(): void {
    const aside: string[] = []
    try {
        for (let attempt = 1; ; attempt++) {
            const old = `${OUT_DIR}.old-${process.pid}-${attempt}`
            try {
                renameSync(OUT_DIR, old)
                aside.push(old)
            } catch (err) {
                if (errorCode(err) !== "ENOENT") throw err
            }
            try {
                renameSync(NEW_DIR, OUT_DIR)
                return
            } catch (err) {
                const taken = ["ENOTEMPTY", "EEXIST"].includes(errorCode(err) ?? "")
                if (!taken || attempt === SWAP_ATTEMPTS) throw err
            }
        }
    } finally {
        for (const old of aside) rmSync(old, { recursive: true, force: true })
        rmSync(NEW_DIR, { recursive: true, force: true })
    }
}

function errorCode(err: unknown): string | undefined {
    return typeof err === "object" && err !== null && "code" in err ? String(err.code) : undefined
}
