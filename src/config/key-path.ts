/**
 * Key paths: where in a config file a problem is, written the way a user
 * would find it, such as `secrets.gh-token.symlinks[0]`.
 */

/** One step into the config: a table key or a list index. */
export type KeySegment = string | number

/** Something wrong at one place in a config file. */
export interface Problem {
    /** Where it is; empty for the file's top level. */
    path: readonly KeySegment[]
    /** What is wrong and how to fix it, without the key path. */
    message: string
}

/** Keys that read unambiguously without quotes. */
const PLAIN_KEY = /^[A-Za-z0-9_/-]+$/

/** Control characters (C0, DEL and C1), never printed raw. */
const CONTROL = /\p{Cc}/gu

/** `text` in double quotes, with quotes, backslashes and control characters escaped. */
export function quote(text: string): string {
    const escaped = text.replace(/["\\]/g, (c) => `\\${c}`)
        .replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    return `"${escaped}"`
}

/**
 * Writes a key path as `a.b[0].c`. A key that is not only letters, digits and
 * `_ / -` (a secret name with a dot, say) is quoted, so the path stays readable
 * and never prints a control character.
 */
export function formatKeyPath(path: readonly KeySegment[]): string {
    if (path.length === 0) return "(top level)"

    let out = ""
    for (const segment of path) {
        if (typeof segment === "number") {
            out += `[${segment}]`
            continue
        }
        const key = PLAIN_KEY.test(segment) ? segment : quote(segment)
        out += out === "" ? key : `.${key}`
    }
    return out
}

/** A problem as one line: `key.path: message`. */
export function formatProblem(problem: Problem): string {
    return `${formatKeyPath(problem.path)}: ${problem.message}`
}

/**
 * Where `path` is in the parsed file, as positions (key order of each table,
 * index in each list), so problems can be listed in the order the file has
 * them. A key not present in the file (a missing required key) sorts last.
 */
function documentPosition(root: unknown, path: readonly KeySegment[]): number[] {
    const position: number[] = []
    let node = root
    for (const segment of path) {
        if (typeof segment === "number" || node === null || typeof node !== "object") {
            position.push(typeof segment === "number" ? segment : Infinity)
            node = Array.isArray(node) ? (node as unknown[])[Number(segment)] : undefined
            continue
        }
        const index = Object.keys(node).indexOf(segment)
        position.push(index === -1 ? Infinity : index)
        node = (node as Record<string, unknown>)[segment]
    }
    return position
}

/** Sorts problems into the order of the file (stable for problems at the same key). */
export function sortProblems(root: unknown, problems: readonly Problem[]): Problem[] {
    const keyed = problems.map((problem) => ({
        problem, position: documentPosition(root, problem.path),
    }))
    keyed.sort((a, b) => {
        const length = Math.min(a.position.length, b.position.length)
        for (let i = 0; i < length; i++) {
            const diff = (a.position[i] ?? 0) - (b.position[i] ?? 0)
            if (diff !== 0 && !Number.isNaN(diff)) return diff
        }
        return a.position.length - b.position.length
    })
    return keyed.map((entry) => entry.problem)
}
