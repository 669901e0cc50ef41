/**
 * Where this package is installed, and its version. The code runs from
 * `dist/src/` (the library) or from the bundle in `dist/cli/` (the command),
 * so the package root is found by walking up from this module to the nearest
 * `package.json` named `homeage`, not by a fixed number of `..` steps.
 */
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

/** The package's name in its package.json. */
const PACKAGE_NAME = "homeage"

/** Folders walked up at most from this module (dist/cli/chunk.js needs 2). */
const MAX_LEVELS = 6

interface PackageFile {
    name?: unknown
    version?: unknown
}

let found: { root: string, version: string } | undefined

function locate(): { root: string, version: string } {
    if (found !== undefined) return found

    let folder = dirname(fileURLToPath(import.meta.url))
    for (let level = 0; level < MAX_LEVELS; level++) {
        let pkg: PackageFile | undefined
        try {
            pkg = JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as PackageFile
        } catch {
            pkg = undefined
        }
        if (pkg?.name === PACKAGE_NAME && typeof pkg.version === "string") {
            found = { root: folder, version: pkg.version }
            return found
        }
        folder = dirname(folder)
    }
    throw new Error(`cannot find the ${PACKAGE_NAME} package.json above ` +
        fileURLToPath(import.meta.url))
}

/** The absolute path of the package's root folder (where its package.json is). */
export function packageRoot(): string {
    return locate().root
}

/** The package's version, from its package.json. */
export function packageVersion(): string {
    return locate().version
}
