/**
 * What the authoring commands need from the config: the config itself (which
 * `edit` can do without, for a file outside it), the secrets a command names,
 * and the identities of the run.
 */
import { stat } from "node:fs/promises"
import { resolve } from "node:path"

import { type IdentitySet, type PassphraseReader, loadIdentities } from "../age/index.js"
import {
    type Config, type Environment, type SecretConfig, defaultIdentityCandidates, findConfigFile,
    findOptionalConfigFile, loadConfig,
} from "../config/index.js"
import { UsageError } from "../errors.js"
import type { Reporter } from "./reporter.js"

/** Where the config is looked for. */
export interface ConfigLookup {
    /** `--config FILE`, if given. */
    explicit: string | undefined
    env: Environment
    cwd: string
}

/** Loads the config the lookup finds (SPEC §3); a missing one is a `UsageError` (exit 2). */
export async function loadProjectConfig(lookup: ConfigLookup): Promise<Config> {
    const file = findConfigFile(lookup)
    return loadConfig(file, lookup.env)
}

/**
 * Loads the config when there is one: `undefined` when nothing was named
 * (`--config`, `$HOMEAGE_CONFIG`) and no `homeage.*` file is found. A config
 * that exists but is invalid is still a `UsageError`.
 */
export async function loadOptionalConfig(lookup: ConfigLookup): Promise<Config | undefined> {
    const file = findOptionalConfigFile(lookup)
    if (file === undefined) return undefined
    return loadConfig(file, lookup.env, { allowMissingSources: true })
}

/**
 * The secret `arg` names: a secret name, or a path (taken from `cwd`) equal to a
 * secret's source. `undefined` when it is neither.
 */
export function findSecret(config: Config | undefined, arg: string, cwd: string,
): SecretConfig | undefined {
    if (config === undefined) return undefined
    const byName = config.secrets.find((secret) => secret.name === arg)
    if (byName !== undefined) return byName

    const path = resolve(cwd, arg)
    return config.secrets.find((secret) => secret.source === path)
}

/**
 * The secrets `names` select, all of them when `names` is empty. Unknown names
 * are one `UsageError` listing each, with the declared names as the fix.
 */
export function selectSecrets(config: Config, names: string[]): SecretConfig[] {
    if (names.length === 0) return config.secrets

    const unknown = names.filter((name) => !config.secrets.some((s) => s.name === name))
    if (unknown.length > 0) {
        const known = config.secrets.map((s) => s.name).join(", ") || "none"
        throw new UsageError(`${config.file} declares no secret named `
            + `${unknown.join(", ")} (declared: ${known})`)
    }
    const wanted = new Set(names)
    return config.secrets.filter((secret) => wanted.has(secret.name))
}

/** What {@link loadRunIdentities} needs. */
export interface RunIdentityOptions {
    config: Config | undefined
    env: Environment
    /** Extra identity files given with `-i`. */
    extra: string[]
    report: Reporter
    passphrase?: PassphraseReader | undefined
}

/**
 * The identities of one run: the config's identity files (or the default ones
 * that exist, without a config) and the `-i` files, loaded once so that a
 * passphrase-protected identity is asked for at most once.
 */
export async function loadRunIdentities(options: RunIdentityOptions): Promise<IdentitySet> {
    const fromConfig = options.config?.identityPaths
        ?? await existing(defaultIdentityCandidates(options.env))
    const paths = [...new Set([...fromConfig, ...options.extra.map((p) => resolve(p))])]

    const identities = await loadIdentities(paths, {
        warn: (message) => { options.report.warn(message) },
        ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
    })
    for (const line of identities.describe()) options.report.detail(line)
    return identities
}

async function existing(paths: string[]): Promise<string[]> {
    const found: string[] = []
    for (const path of paths) {
        const present = await stat(path).then(() => true, () => false)
        if (present) found.push(path)
    }
    return found
}
