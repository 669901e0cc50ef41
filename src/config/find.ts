/**
 * Finding the config file (SPEC §3): `--config FILE`, then `$HOMEAGE_CONFIG`,
 * then `./homeage.*`, then `$XDG_CONFIG_HOME/homeage/homeage.*`.
 */
import { lstatSync } from "node:fs"
import { join, resolve } from "node:path"

import { UsageError } from "../errors.js"
import type { Environment } from "./environment.js"
import { CONFIG_EXTENSIONS } from "./parse.js"

/** Options for {@link findConfigFile}. */
export interface FindConfigOptions {
    /** The `--config` value, if given. */
    explicit?: string | undefined
    /** Supplies `$HOMEAGE_CONFIG` and `$XDG_CONFIG_HOME`. */
    env: Environment
    /** The working folder: relative paths and `./homeage.*` are taken from it. */
    cwd: string
}

function exists(file: string): boolean {
    try {
        lstatSync(file)
        return true
    } catch {
        return false
    }
}

/** The `homeage.*` files in `folder`; more than one is ambiguous and a `UsageError`. */
function candidateIn(folder: string): string | undefined {
    const found = CONFIG_EXTENSIONS.map((ext) => join(folder, `homeage.${ext}`)).filter(exists)
    if (found.length > 1) {
        throw new UsageError(`${folder} has ${found.length} config files (${found.join(", ")}); `
            + "keep one, or choose with --config FILE", { problems: found })
    }
    return found[0]
}

function searchedFolders(options: FindConfigOptions): string[] {
    return [resolve(options.cwd), join(options.env.XDG_CONFIG_HOME, "homeage")]
}

/**
 * The files whose presence decides which config file the search picks: every
 * `homeage.*` of each searched folder. None when `--config` or
 * `$HOMEAGE_CONFIG` names the file.
 */
export function configCandidates(options: FindConfigOptions): string[] {
    const { explicit, env } = options
    if ((explicit !== undefined && explicit !== "") || env.HOMEAGE_CONFIG !== undefined) return []
    return searchedFolders(options).flatMap((folder) =>
        CONFIG_EXTENSIONS.map((ext) => join(folder, `homeage.${ext}`)))
}

/**
 * Like {@link findConfigFile}, but `undefined` when no config file exists in
 * the places searched (for commands that work without one, such as `edit FILE`).
 * Two config files in one folder are still a `UsageError`.
 */
export function findOptionalConfigFile(options: FindConfigOptions): string | undefined {
    const { explicit, env, cwd } = options
    if (explicit !== undefined && explicit !== "") return resolve(cwd, explicit)
    if (env.HOMEAGE_CONFIG !== undefined) return resolve(cwd, env.HOMEAGE_CONFIG)

    for (const folder of searchedFolders(options)) {
        const found = candidateIn(folder)
        if (found !== undefined) return found
    }
    return undefined
}

/**
 * The absolute path of the config file to use. A file named by `--config` or
 * `$HOMEAGE_CONFIG` is returned as given (resolved against `cwd`; whether it
 * exists is for the loader to say); a folder searched is used only when it has
 * exactly one `homeage.{toml,yaml,yml,json}`. Throws a `UsageError` listing the
 * places searched, with the fix, when there is none.
 */
export function findConfigFile(options: FindConfigOptions): string {
    const found = findOptionalConfigFile(options)
    if (found !== undefined) return found

    const folders = searchedFolders(options)
    const names = `homeage.{${CONFIG_EXTENSIONS.join(",")}}`
    const places = folders.map((folder) => join(folder, names))
    throw new UsageError(`no config file found (looked for ${places.join(" and ")}, and `
        + "$HOMEAGE_CONFIG is not set); run `homeage init` to write one, or pass --config FILE")
}
