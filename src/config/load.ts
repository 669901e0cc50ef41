/**
 * Loading a config file into a {@link Config}: parse, validate against the
 * schema, apply defaults, expand every path and check what needs the disk
 * (sources) or the age layer (recipients). Every problem of the file is
 * reported at once, each with its key path.
 *
 * The schema (zod), the TOML and YAML parsers and the age layer are loaded
 * only when a file is validated; a file validated before is taken from the
 * cache (see cache.ts), and only its paths are resolved again.
 */
import { statSync } from "node:fs"
import { realpath, stat } from "node:fs/promises"
import { dirname, join, resolve } from "node:path"

import type { Recipient } from "../age/types.js"
import { UsageError, errnoOf, messageOf } from "../errors.js"
import {
    type ConfigCacheKey, configDigest, countConfigValidation, readConfigCache, validatorVersion,
    writeConfigCache,
} from "./cache.js"
import type { Environment } from "./environment.js"
import { type Expansion, resolvePath } from "./expand.js"
import { type KeySegment, type Problem, formatKeyPath, formatProblem, sortProblems }
    from "./key-path.js"
import { nameProblems } from "./names.js"
import { type ConfigFormat, configText, formatOf, parseConfigText, readConfigBytes }
    from "./parse.js"
import type { ConfigFile } from "./schema.js"
import type { Config, InstallationType, SecretConfig } from "./types.js"

/** Paths of one secret once expanded; a field is `undefined` where it had a problem. */
interface SecretPaths {
    source: string | undefined
    path: string | undefined
    symlinks: string[]
    copies: string[]
}

/** Everything of a file that is resolved against the environment and the disk. */
interface ResolvedPaths {
    identityPaths: string[]
    runtimeDir: string | undefined
    secrets: Map<string, SecretPaths>
}

type Table = Record<string, unknown>

function isTable(value: unknown): value is Table {
    return typeof value === "object" && value !== null && !Array.isArray(value)
        && !(value instanceof Date)
}

/** The identity files tried when the config names none, in order. */
export function defaultIdentityCandidates(env: Environment): string[] {
    return [
        join(env.HOME, ".ssh", "id_ed25519"),
        join(env.HOME, ".ssh", "id_rsa"),
        join(env.XDG_CONFIG_HOME, "homeage", "identity.txt"),
    ]
}

/**
 * The runtime dir when the config names none: `$XDG_RUNTIME_DIR/secrets`;
 * without that variable `/run/user/$UID/secrets` (whether it exists is for
 * activation to say), or a folder in the per-user temporary folder on macOS,
 * which has no `/run/user`.
 */
export function defaultRuntimeDir(env: Environment): string {
    if (env.XDG_RUNTIME_DIR !== undefined) return join(env.XDG_RUNTIME_DIR, "secrets")
    if (env.platform === "darwin") return join(env.TMPDIR, "homeage-secrets")
    return `/run/user/${env.UID}/secrets`
}

/** The installation type when the config names none: the platform's service manager. */
export function defaultInstallationType(env: Environment): InstallationType {
    if (env.platform === "linux") return "systemd"
    if (env.platform === "darwin") return "launchd"
    return "activation"
}

async function existing(paths: string[]): Promise<string[]> {
    const found = await Promise.all(paths.map(async (path) => {
        try {
            await stat(path)
            return true
        } catch {
            return false
        }
    }))
    return paths.filter((_, i) => found[i])
}

/** Parses a recipient, throwing a `UsageError` that names `where` (see age/recipients.ts). */
type RecipientParser = (text: string, where: string) => Recipient

/**
 * Resolves the paths of a parsed file, collecting problems instead of
 * stopping. Recipients are checked only when given a parser: a file taken from
 * the cache had its recipients checked when it was validated.
 */
class Resolver {
    readonly problems: Problem[] = []
    private readonly checks: Promise<void>[] = []

    constructor(
        private readonly env: Environment,
        private readonly folder: string,
        private readonly allowMissingSources: boolean,
        private readonly parseRecipient: RecipientParser | undefined,
    ) {}

    private report(path: readonly KeySegment[], message: string): void {
        this.problems.push({ path, message })
    }

    private take(path: readonly KeySegment[], expansion: Expansion): string | undefined {
        if (expansion.ok) return expansion.value
        this.report(path, expansion.problem)
        return undefined
    }

    /** Each string of a list at `path`, absolute; wrong types are left to the schema. */
    private absoluteList(table: Table, key: string, path: readonly KeySegment[]): string[] {
        const list = table[key]
        if (!Array.isArray(list)) return []

        const out: string[] = []
        list.forEach((entry: unknown, i) => {
            if (typeof entry !== "string") return
            const value = this.take([...path, key, i], resolvePath(entry, this.env))
            if (value !== undefined) out.push(value)
        })
        return out
    }

    private recipients(table: Table, path: readonly KeySegment[]): void {
        const list = table.recipients
        const parse = this.parseRecipient
        if (!Array.isArray(list) || parse === undefined) return

        list.forEach((entry: unknown, i) => {
            if (typeof entry !== "string") return
            const at = [...path, "recipients", i]
            const where = formatKeyPath(at)
            try {
                parse(entry, where)
            } catch (err) {
                if (!(err instanceof UsageError)) throw err
                const message = err.message
                const own = message.startsWith(`${where}: `) ? message.slice(where.length + 2)
                    : message
                this.report(at, own)
            }
        })
    }

    /** Checks that a source is a regular file (synchronously: one `stat` per secret). */
    private checkSource(at: readonly KeySegment[], source: string): void {
        try {
            if (!statSync(source).isFile()) this.report(at, `${source} is not a regular file`)
        } catch (err) {
            if (errnoOf(err) === "ENOENT" && this.allowMissingSources) return
            const reason = errnoOf(err) === "ENOENT"
                ? `${source} does not exist (relative sources are taken from the config `
                    + `file's folder, ${this.folder})`
                : `${source} cannot be read: ${messageOf(err)}`
            this.report(at, reason)
        }
    }

    private secretPath(table: Table, name: string, runtimeDir: string | undefined,
        at: readonly KeySegment[]): string | undefined {
        const declared = table.path
        if (typeof declared !== "string") {
            if (declared !== undefined || runtimeDir === undefined) return undefined
            return nameProblems(name).length === 0 ? join(runtimeDir, name) : undefined
        }

        const resolved = resolvePath(declared, this.env, { base: runtimeDir ?? "/" })
        if (runtimeDir === undefined) {
            // The runtimeDir problem is reported already; report only this path's own.
            if (!resolved.ok) this.report(at, resolved.problem)
            return undefined
        }

        const under = this.take(at, resolved)
        if (under === undefined || !resolved.ok || !resolved.relative) return under
        if (!under.startsWith(`${runtimeDir}/`)) {
            this.report(at, `the relative path ${JSON.stringify(declared)} leaves runtimeDir `
                + `(${runtimeDir}); write an absolute path instead`)
            return undefined
        }
        return under
    }

    private secret(name: string, value: unknown, runtimeDir: string | undefined): SecretPaths {
        const at = ["secrets", name]
        for (const problem of nameProblems(name)) this.report(at, problem)

        const paths: SecretPaths = { source: undefined, path: undefined, symlinks: [], copies: [] }
        if (!isTable(value)) return paths

        if (typeof value.source === "string") {
            const sourceAt = [...at, "source"]
            paths.source = this.take(sourceAt,
                resolvePath(value.source, this.env, { base: this.folder }))
            if (paths.source !== undefined) this.checkSource(sourceAt, paths.source)
        }
        paths.path = this.secretPath(value, name, runtimeDir, [...at, "path"])
        paths.symlinks = this.absoluteList(value, "symlinks", at)
        paths.copies = this.absoluteList(value, "copies", at)
        this.recipients(value, at)
        return paths
    }

    /** Resolves every path of `data` (the parsed file), whatever else is wrong with it. */
    async resolve(data: unknown): Promise<ResolvedPaths> {
        const resolved: ResolvedPaths = {
            identityPaths: [], runtimeDir: undefined, secrets: new Map(),
        }
        if (!isTable(data)) return resolved

        resolved.identityPaths = Array.isArray(data.identityPaths)
            ? this.absoluteList(data, "identityPaths", [])
            : await existing(defaultIdentityCandidates(this.env))
        resolved.runtimeDir = typeof data.runtimeDir === "string"
            ? this.take(["runtimeDir"], resolvePath(data.runtimeDir, this.env))
            : defaultRuntimeDir(this.env)
        this.recipients(data, [])

        if (isTable(data.secrets)) {
            for (const [name, value] of Object.entries(data.secrets)) {
                resolved.secrets.set(name, this.secret(name, value, resolved.runtimeDir))
            }
        }

        await Promise.all(this.checks)
        return resolved
    }
}

function buildSecret(name: string, file: ConfigFile, paths: SecretPaths | undefined):
SecretConfig {
    const declared = file.secrets[name]
    if (declared === undefined || paths?.source === undefined || paths.path === undefined) {
        throw new Error(`secret ${name} was validated but not resolved`)
    }
    return {
        name,
        source: paths.source,
        path: paths.path,
        mode: Number.parseInt(declared.mode, 8),
        owner: declared.owner,
        group: declared.group,
        symlinks: paths.symlinks,
        copies: paths.copies,
        recipients: declared.recipients ?? file.recipients ?? [],
    }
}

/** Options for {@link loadConfig}. */
export interface LoadConfigOptions {
    /**
     * Accept a `source` that does not exist yet (for `edit`, which creates it).
     * A source that exists but is not a readable regular file is still an error.
     */
    allowMissingSources?: boolean
    /**
     * Where the validated forms of config files are kept (see cache.ts), a file
     * in the state dir: bytes validated before are taken from there. It is only
     * read here; {@link cacheValidatedConfig} writes it once the caller's run
     * has succeeded. Without it, every load validates.
     */
    cacheFile?: string | undefined
}

/** What {@link cacheValidatedConfig} needs of a config this process validated. */
interface Validated {
    key: ConfigCacheKey
    config: ConfigFile
}

/** The validated form of each config this process loaded without the cache. */
const validatedForms = new WeakMap<Config, Validated>()

/**
 * Keeps the validated form of `config` (as returned by {@link loadConfig}) in
 * `cacheFile`, so that the next load of the same bytes by this version skips
 * the parse and the schema. Called by a command once its run has succeeded,
 * so that a run that fails, or a check, changes nothing in the state dir. Does
 * nothing for a config that came from the cache, and when the cache file's
 * folder does not exist (it is never created for this). Never throws, but for
 * a signal that arrived while writing.
 */
export async function cacheValidatedConfig(config: Config, cacheFile: string): Promise<void> {
    const validated = validatedForms.get(config)
    if (validated === undefined) return

    await writeConfigCache(cacheFile, validated.key, validated.config)
}

/** A file's content as the schema accepted it, or every problem the schema found. */
type Validation =
    | { ok: true, config: ConfigFile, data: unknown }
    | { ok: false, problems: Problem[], data: unknown }

/** Parses `bytes` and validates them against the schema, loading both on demand. */
async function validate(bytes: Uint8Array, format: ConfigFormat, file: string):
Promise<Validation> {
    countConfigValidation()
    const data = await parseConfigText(configText(bytes, file), format, file)
    const [{ configFileSchema }, { issueMessage, issueProblems }] = await Promise.all([
        import("./schema.js"), import("./issues.js"),
    ])

    const parsed = configFileSchema.safeParse(data, { error: issueMessage })
    if (parsed.success) return { ok: true, config: parsed.data, data }
    return { ok: false, problems: issueProblems(parsed.error.issues, data), data }
}

/**
 * Loads and validates the config file `file` (TOML, YAML or JSON by extension)
 * and resolves it against `env`: defaults applied, every path absolute and
 * normalized, sources checked to be regular files, recipients parsed.
 * Relative sources are taken from the folder of the real file, so a config
 * symlinked from a dotfiles checkout finds the secrets beside it there.
 * Conflicts between secrets' outputs are not checked here (see
 * `findConflicts`), so activation can report them with its other checks.
 * With `options.cacheFile`, bytes this homeage version validated before skip
 * the parse, the schema and the recipient check; paths are resolved and
 * sources checked at every load all the same. A validated file is cached by
 * {@link cacheValidatedConfig}.
 * @throws UsageError naming the file: for a syntax error, with its line and
 *   column; otherwise with every problem of the file in `problems`, each as
 *   `key.path: message`, in the order of the file.
 */
export async function loadConfig(
    file: string, env: Environment, options: LoadConfigOptions = {},
): Promise<Config> {
    const absolute = resolve(file)
    const format = formatOf(absolute)
    const bytes = await readConfigBytes(absolute)
    const key: ConfigCacheKey = {
        file: absolute, sha256: configDigest(bytes), version: await validatorVersion(),
    }
    const cacheFile = options.cacheFile
    const cached = cacheFile === undefined ? undefined : await readConfigCache(cacheFile, key)

    const validation: Validation = cached === undefined
        ? await validate(bytes, format, absolute)
        : { ok: true, config: cached, data: cached }
    const parseRecipient = cached === undefined
        ? (await import("../age/index.js")).parseRecipient
        : undefined
    const resolver = new Resolver(env, dirname(await realpath(absolute)),
        options.allowMissingSources ?? false, parseRecipient)
    const data = validation.data
    const resolved = await resolver.resolve(data)

    const problems = [...(validation.ok ? [] : validation.problems), ...resolver.problems]
    if (!validation.ok || problems.length > 0 || resolved.runtimeDir === undefined) {
        const lines = sortProblems(data, problems).map(formatProblem)
        const count = lines.length === 1 ? "1 error; fix it" : `${lines.length} errors; fix them`
        throw new UsageError(`config file ${absolute} has ${count} and run again`,
            { problems: lines })
    }

    const config = validation.config
    const result: Config = {
        file: absolute,
        identityPaths: resolved.identityPaths,
        runtimeDir: resolved.runtimeDir,
        installationType: config.installationType ?? defaultInstallationType(env),
        recipients: config.recipients ?? [],
        allowPersistentRuntimeDir: config.allowPersistentRuntimeDir,
        generationsToKeep: config.generationsToKeep,
        secrets: Object.keys(config.secrets).map((name) =>
            buildSecret(name, config, resolved.secrets.get(name))),
    }
    if (cached === undefined) validatedForms.set(result, { key, config })
    return result
}
