/**
 * A config file validated once is not validated again: after a successful
 * run, the file's validated form (the schema's output, static defaults
 * applied) is kept in the state dir with the file's path, the SHA-256 of its
 * bytes and the homeage version. A later load of the same bytes by the same
 * version takes it from there, without parsing TOML or YAML and without the
 * schema, which is the slowest part of a run that has nothing to change.
 *
 * Only what the file itself says is kept. Everything that depends on the
 * environment, the working folder or the disk (expanding `~` and `$VARS`,
 * default identity files, sources relative to the file's folder, whether
 * sources exist) is resolved again at every load, after the cache.
 *
 * The cache is an optimization, never a source of errors: a cache file that
 * is missing, unreadable, malformed, from another version or for other bytes
 * is ignored, and one that cannot be written is not written.
 */
import { createHash } from "node:crypto"
import { readFile, stat } from "node:fs/promises"
import { dirname, join } from "node:path"

import { writeFileAtomic } from "../fs/atomic.js"
import { InterruptedError } from "../fs/interrupt.js"
import { packageRoot, packageVersion } from "../package.js"
import type { ConfigFile } from "./schema.js"

/** Mode of the cache file: the user's only, like the rest of the state dir. */
const CACHE_MODE = 0o600

/** Format of the cache file itself, changed when its layout changes. */
const CACHE_FORMAT = 1

/** Largest cache file read (4 MiB): a 1 MiB config file and room to spare. */
const MAX_CACHE_BYTES = 4 * 1024 * 1024

/** What a cached config is valid for: these bytes of this file, read by this version. */
export interface ConfigCacheKey {
    /** Absolute path of the config file. */
    file: string
    /** SHA-256 (hex) of the config file's bytes. */
    sha256: string
    /** The homeage version that validated it, with its schema's fingerprint. */
    version: string
}

/** The cache file's content. */
interface CacheRecord extends ConfigCacheKey {
    format: number
    config: ConfigFile
    /** SHA-256 (hex) of the fields above, so a damaged or edited cache is not used. */
    check: string
}

let validated = 0

/**
 * How many config files this process has validated against the schema, that
 * is, not taken from the cache; tests use this count to show which happened.
 */
export function configValidations(): number {
    return validated
}

/** Counts one validation against the schema (see {@link configValidations}). */
export function countConfigValidation(): void {
    validated++
}

/** Hex digits of the schema's SHA-256 kept in {@link validatorVersion}. */
const SCHEMA_FINGERPRINT_CHARS = 16

/**
 * What validated a cached config: the package version and a fingerprint of the
 * shipped JSON Schema (schema/homeage.schema.json, generated from the zod
 * schema and checked against it by `npm run lint`), so that a schema change
 * invalidates every cache even without a new version number.
 */
export async function validatorVersion(): Promise<string> {
    const file = join(packageRoot(), "schema", "homeage.schema.json")
    const schema = await readFile(file).catch(() => undefined)
    if (schema === undefined) return packageVersion()
    const fingerprint = createHash("sha256").update(schema).digest("hex")
    return `${packageVersion()}+${fingerprint.slice(0, SCHEMA_FINGERPRINT_CHARS)}`
}

/** The SHA-256 of a config file's bytes, as lowercase hex. */
export function configDigest(bytes: Uint8Array): string {
    return createHash("sha256").update(bytes).digest("hex")
}

function checkOf(record: Omit<CacheRecord, "check">): string {
    const fields = [record.format, record.file, record.sha256, record.version, record.config]
    return createHash("sha256").update(JSON.stringify(fields)).digest("hex")
}

function isCacheRecord(data: unknown): data is CacheRecord {
    if (typeof data !== "object" || data === null) return false
    const record = data as Partial<Record<keyof CacheRecord, unknown>>
    return record.format === CACHE_FORMAT && typeof record.file === "string"
        && typeof record.sha256 === "string" && typeof record.version === "string"
        && typeof record.check === "string"
        && typeof record.config === "object" && record.config !== null
}

/**
 * The validated config kept in `cacheFile` for `key`, or `undefined` when there
 * is none for exactly that key, or the cache file cannot be used at all (it is
 * missing, damaged, too large, or owned by another user).
 */
export async function readConfigCache(
    cacheFile: string, key: ConfigCacheKey,
): Promise<ConfigFile | undefined> {
    let data: unknown
    try {
        const info = await stat(cacheFile)
        if (!info.isFile() || info.size > MAX_CACHE_BYTES) return undefined
        if (info.uid !== (process.geteuid?.() ?? info.uid)) return undefined
        data = JSON.parse(await readFile(cacheFile, "utf8"))
    } catch {
        return undefined
    }

    if (!isCacheRecord(data)) return undefined
    if (data.file !== key.file || data.sha256 !== key.sha256 || data.version !== key.version) {
        return undefined
    }
    return checkOf(data) === data.check ? data.config : undefined
}

/**
 * Keeps `config`, the validated form of the file `key` describes, in
 * `cacheFile` (mode 0600, replaced atomically), replacing what was there. The
 * cache file's folder (the state dir) must exist: it is never created for
 * this, so a first run that fails leaves nothing behind. Never throws, but
 * for a signal that arrived while writing (see fs/interrupt.ts).
 */
export async function writeConfigCache(
    cacheFile: string, key: ConfigCacheKey, config: ConfigFile,
): Promise<void> {
    try {
        if (!(await stat(dirname(cacheFile))).isDirectory()) return
    } catch {
        return
    }

    const body = {
        format: CACHE_FORMAT, file: key.file, sha256: key.sha256, version: key.version, config,
    }
    const record: CacheRecord = { ...body, check: checkOf(body) }
    try {
        await writeFileAtomic(cacheFile, Buffer.from(`${JSON.stringify(record)}\n`), CACHE_MODE)
    } catch (err) {
        if (err instanceof InterruptedError) throw err
        // A cache that cannot be written only means the next run validates again.
    }
}
