/**
 * Loads the bundled command line (`dist/cli/homeage.cjs`) with V8's code
 * cache, so that a run skips parsing and compiling what an earlier run of the
 * same build already compiled. Node.js 20 has no compile cache of its own.
 *
 * The cache is made once, by the build (scripts/code-cache.ts), and is only
 * ever read here. V8 refuses a cache made by another V8 version or with other
 * flags, and the build stamps both files with one build id, so a stale or
 * foreign cache costs a normal compile, never wrong code. Kept in one file with
 * no imports of its own but Node's, since it runs before anything else.
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname } from "node:path"
import { Script } from "node:vm"

/** The command line's entry point, as exported by the bundle. */
export type CliMain = (argv: string[]) => Promise<number>

/** A bundle compiled and run up to its exports. */
export interface LoadedCli {
    /** Runs the command line with `argv` and returns the exit status. */
    main: CliMain
    /** Whether V8 took the code cache (false: none, or refused). */
    cacheUsed: boolean
    /** Serializes everything compiled so far, for the build to store. */
    makeCache(): Buffer
}

/** How the bundle is loaded. */
export interface LoadOptions {
    /** Read the code cache beside the bundle (default true). */
    useCache?: boolean
}

/**
 * The bundle's first line: `// homeage build ID`, which the cache's header
 * repeats. The bundle is a CommonJS module already inside the function that
 * Node's loader would wrap it in, so that positions in coverage and stack
 * traces are those of the file.
 */
const STAMP = /^\/\/ homeage build ([0-9a-f]{16,64})\n/

/** The code cache beside a bundle. */
export function cachePathOf(bundle: string): string {
    return `${bundle}.cache`
}

/**
 * The cache file: a header line `homeage build ID\n`, then V8's data. Returns
 * the data when the header's id is `buildId`, else undefined.
 */
function readCache(bundle: string, buildId: string): Buffer | undefined {
    let bytes: Buffer
    try {
        bytes = readFileSync(cachePathOf(bundle))
    } catch {
        return undefined
    }
    const header = Buffer.from(cacheHeader(buildId))
    if (bytes.length <= header.length) return undefined
    if (!bytes.subarray(0, header.length).equals(header)) return undefined
    return bytes.subarray(header.length)
}

/** The header that ties a cache file to one build of the bundle. */
export function cacheHeader(buildId: string): string {
    return `homeage build ${buildId}\n`
}

/** The build id stamped on the bundle's first line, if any. */
export function buildIdOf(source: string): string | undefined {
    return STAMP.exec(source)?.[1]
}

/**
 * Compiles the bundle at `bundle` (with its code cache unless told not to),
 * runs its top level and returns its `main`.
 */
export function loadCli(bundle: string, options: LoadOptions = {}): LoadedCli {
    const source = readFileSync(bundle, "utf8")
    const buildId = buildIdOf(source)
    const cachedData = options.useCache === false || buildId === undefined
        ? undefined
        : readCache(bundle, buildId)
    const script = new Script(source, {
        filename: bundle,
        ...(cachedData === undefined ? {} : { cachedData }),
    })
    const wrapped = script.runInThisContext() as (
        exports: object, require: NodeJS.Require, module: { exports: object },
        filename: string, dirname: string,
    ) => void
    const module = { exports: {} as { main?: unknown } }
    wrapped.call(module.exports, module.exports, createRequire(bundle), module, bundle,
        dirname(bundle))
    const main = module.exports.main
    if (typeof main !== "function") throw new Error(`${bundle} does not export main`)
    return {
        main: main as CliMain,
        cacheUsed: cachedData !== undefined && !script.cachedDataRejected,
        makeCache: () => script.createCachedData(),
    }
}

/**
 * Runs the command line from `bundle` with `argv` and sets the exit status:
 * what `bin/homeage.js` calls.
 */
export async function launch(bundle: string, argv: string[]): Promise<void> {
    process.exitCode = await loadCli(bundle).main(argv)
}
