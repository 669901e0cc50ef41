/**
 * Loads the bundled command line (`dist/cli/homeage.cjs`) with V8's code
 * cache, so that a run skips parsing and compiling what an earlier run of the
 * same build already compiled. Node.js 20 has no compile cache of its own.
 *
 * The cache is made once, by the build (scripts/code-cache.ts), and is only
 * ever read here. V8 checks little of a cache itself (its version, its flags
 * and the source's length, not the data), and damaged data can crash it or
 * run other code than the bundle's. So the cache file starts with a line
 * naming the SHA-256 of the bundle it was made from and of its own data, and
 * is used only when both match: a stale, foreign or damaged cache costs a
 * normal compile, never a crash or wrong code. It imports nothing but Node's
 * modules and one small file reader, since it runs before anything else.
 */
import { createHash } from "node:crypto"
import { createRequire } from "node:module"
import { dirname } from "node:path"
import { Script } from "node:vm"

import { readRegularFile } from "../fs/regular-file.js"

/** The command line's entry point, as exported by the bundle. */
export type CliMain = (argv: string[]) => Promise<number>

/** A bundle compiled and run up to its exports. */
export interface LoadedCli {
    /** Runs the command line with `argv` and returns the exit status. */
    main: CliMain
    /** Whether V8 took the code cache (false: none, not this bundle's, or refused). */
    cacheUsed: boolean
    /** Serializes everything compiled so far, for the build to store (see {@link cacheFile}). */
    makeCache(): Buffer
}

/** How the bundle is loaded. */
export interface LoadOptions {
    /** Read the code cache beside the bundle (default true). */
    useCache?: boolean
}

/** Thrown when the bundle cannot be loaded: the message names it and says what to do. */
export class LoadError extends Error {
    override name = "LoadError"
}

/** First word of a cache file's header line. */
const CACHE_MAGIC = "homeage-code-cache-1"

/** The header line: magic, SHA-256 of the bundle, SHA-256 of the cache data. */
const CACHE_HEADER = new RegExp(`^${CACHE_MAGIC} ([0-9a-f]{64}) ([0-9a-f]{64})\n`)

/** Bytes of the header line (magic, two hex digests, two spaces, a newline). */
const CACHE_HEADER_BYTES = CACHE_MAGIC.length + 2 * 64 + 3

/** Largest bundle or cache file read (64 MiB); both are about 1 MiB. */
const MAX_FILE_BYTES = 64 * 1024 * 1024

/** What to do when the command line cannot be loaded. */
const REINSTALL = "reinstall homeage, or run `npm run build` in its checkout"

/** The code cache beside a bundle. */
export function cachePathOf(bundle: string): string {
    return `${bundle}.cache`
}

function sha256(bytes: Uint8Array): string {
    return createHash("sha256").update(bytes).digest("hex")
}

/**
 * The content of the cache file for a bundle of `bundleBytes` and V8's cache
 * `data` of it: the header line, then the data.
 */
export function cacheFile(bundleBytes: Uint8Array, data: Uint8Array): Buffer {
    const header = `${CACHE_MAGIC} ${sha256(bundleBytes)} ${sha256(data)}\n`
    return Buffer.concat([Buffer.from(header), data])
}


/** V8's data from the cache file beside `bundle`, if that file is whole and made from it. */
function readCache(bundle: string, bundleHash: string): Buffer | undefined {
    let bytes: Buffer
    try {
        bytes = readRegularFile(cachePathOf(bundle), MAX_FILE_BYTES)
    } catch {
        return undefined
    }
    const header = CACHE_HEADER.exec(bytes.subarray(0, CACHE_HEADER_BYTES).toString("latin1"))
    if (header?.[1] !== bundleHash) return undefined
    const data = bytes.subarray(CACHE_HEADER_BYTES)
    if (data.length === 0 || sha256(data) !== header[2]) return undefined
    return data
}

/**
 * Compiles the bundle at `bundle` (with its code cache unless told not to),
 * runs its top level and returns its `main`. The bundle is a CommonJS module
 * already inside the function Node's loader would wrap it in (so that
 * positions in coverage and stack traces are those of the file).
 * @throws LoadError naming the bundle when it cannot be read or run.
 */
export function loadCli(bundle: string, options: LoadOptions = {}): LoadedCli {
    const problem = (reason: string, cause?: unknown): LoadError =>
        new LoadError(`cannot load the command line from ${bundle}: ${reason}; ${REINSTALL}`,
            { cause })

    let bytes: Buffer
    try {
        bytes = readRegularFile(bundle, MAX_FILE_BYTES)
    } catch (err) {
        throw problem(err instanceof Error ? err.message : String(err), err)
    }
    const cachedData = options.useCache === false ? undefined : readCache(bundle, sha256(bytes))

    let script: Script
    let wrapped: unknown
    try {
        script = new Script(bytes.toString("utf8"), {
            filename: bundle,
            ...(cachedData === undefined ? {} : { cachedData }),
        })
        wrapped = script.runInThisContext()
    } catch (err) {
        throw problem(`it does not compile (${String(err)})`, err)
    }
    if (typeof wrapped !== "function") throw problem("it is not a bundle of homeage")

    const module = { exports: {} as { main?: unknown } }
    const wrapper = wrapped as (
        exports: object, require: NodeJS.Require, module: { exports: object },
        filename: string, dirname: string,
    ) => void
    try {
        wrapper.call(module.exports, module.exports, createRequire(bundle), module, bundle,
            dirname(bundle))
    } catch (err) {
        throw problem(`its top level failed (${String(err)})`, err)
    }
    const main = module.exports.main
    if (typeof main !== "function") throw problem("it exports no main function")
    return {
        main: main as CliMain,
        cacheUsed: cachedData !== undefined && !script.cachedDataRejected,
        makeCache: () => script.createCachedData(),
    }
}

/**
 * Runs the command line from `bundle` with `argv` and sets the exit status:
 * what `bin/homeage.js` calls. A bundle that cannot be loaded is one error
 * line and exit status 1.
 */
export async function launch(bundle: string, argv: string[]): Promise<void> {
    let cli: LoadedCli
    try {
        cli = loadCli(bundle)
    } catch (err) {
        if (!(err instanceof LoadError)) throw err
        process.stderr.write(`homeage: error: ${err.message}\n`)
        process.exitCode = 1
        return
    }
    process.exitCode = await cli.main(argv)
}
