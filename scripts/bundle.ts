/**
 * Bundles the command line into `dist/cli/` with esbuild: one file per entry
 * and shared chunks, so that a command loads a few files instead of resolving
 * some fifty modules one by one at every start. Commands loaded with
 * `import()` stay in chunks of their own, loaded only when they run. The
 * library (`dist/src/`, built by tsc) is not bundled.
 *
 * Usage: node dist/scripts/bundle.js (run by `npm run build`).
 */
import { existsSync, renameSync, rmSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

import { build } from "esbuild"

const ROOT = fileURLToPath(new URL("../../", import.meta.url))
const OUT_DIR = join(ROOT, "dist", "cli")
/** Built here first, then swapped in, so a run of the CLI meanwhile sees a whole bundle. */
const NEW_DIR = `${OUT_DIR}.new`
const OLD_DIR = `${OUT_DIR}.old`

/** The entry point: the command line; each command is a chunk it loads when it runs. */
const ENTRIES = ["src/cli/main.ts"]

/**
 * CommonJS dependencies call `require` for Node's built-in modules; an ES
 * module bundle has no `require` unless it makes one.
 */
const REQUIRE_SHIM = "import { createRequire as homeageRequire } from \"node:module\"\n" +
    "const require = homeageRequire(import.meta.url)"

rmSync(NEW_DIR, { recursive: true, force: true })
await build({
    absWorkingDir: ROOT,
    entryPoints: ENTRIES,
    outdir: NEW_DIR,
    entryNames: "[name]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    minify: true,
    keepNames: true,
    legalComments: "linked",
    banner: { js: REQUIRE_SHIM },
    logLevel: "warning",
})

rmSync(OLD_DIR, { recursive: true, force: true })
if (existsSync(OUT_DIR)) renameSync(OUT_DIR, OLD_DIR)
renameSync(NEW_DIR, OUT_DIR)
rmSync(OLD_DIR, { recursive: true, force: true })
