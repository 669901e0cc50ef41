/**
 * Turns schema validation issues into config problems a user can act on:
 * plain words instead of type names, and one problem per unknown key with the
 * key it most likely meant.
 */
import type * as z from "zod"

import type { KeySegment, Problem } from "./key-path.js"
import { configFileSchema, secretSchema } from "./schema.js"

const EXPECTED: Record<string, string> = {
    string: "a string",
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
    array: "a list",
    object: "a table (object)",
    record: "a table (object)",
}

/** How a value read from the file is described in a message; never more than its type. */
export function describeValue(value: unknown): string {
    if (value === null) return "null"
    if (Array.isArray(value)) return "a list"
    if (value instanceof Date) return "a date"
    if (typeof value === "number") return `the number ${value}`
    if (typeof value === "boolean") return String(value)
    if (typeof value === "string") return "a string"
    if (typeof value === "object") return "a table (object)"
    return typeof value
}

/**
 * The error map given to the schema's `safeParse`: a message for every issue
 * the schema itself does not word. Returns `undefined` to keep zod's own.
 */
export function issueMessage(issue: z.core.$ZodRawIssue): string | undefined {
    switch (issue.code) {
        case "invalid_type": {
            if (issue.input === undefined) return "is required"
            const expected = EXPECTED[issue.expected] ?? issue.expected
            return `must be ${expected}, not ${describeValue(issue.input)}`
        }
        case "too_small":
            return `must be at least ${String(issue.minimum)}`
        case "invalid_value":
            return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`
        default:
            return undefined
    }
}

/** Edit distance between two short keys, for suggestions. */
function distance(a: string, b: string): number {
    let previous = Array.from({ length: b.length + 1 }, (_, i) => i)
    for (let i = 1; i <= a.length; i++) {
        const current = [i]
        for (let j = 1; j <= b.length; j++) {
            const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
            current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution))
        }
        previous = current
    }
    return previous[b.length] ?? 0
}

/** Largest edit distance at which an unknown key is taken for a typo (characters). */
const MAX_TYPO_DISTANCE = 2

function suggestion(key: string, known: readonly string[]): string | undefined {
    const folded = (k: string): string => k.toLowerCase().replace(/[-_]/g, "")
    const same = known.find((k) => folded(k) === folded(key))
    if (same !== undefined) return same

    const ranked = known.map((k) => ({ k, d: distance(folded(k), folded(key)) }))
        .filter((entry) => entry.d <= MAX_TYPO_DISTANCE)
        .sort((a, b) => a.d - b.d)
    return ranked[0]?.k
}

function looksLikeSecret(value: unknown): boolean {
    return typeof value === "object" && value !== null && "source" in value
}

/** The keys a table at `path` may have. */
function knownKeys(path: readonly KeySegment[]): readonly string[] {
    if (path.length === 0) return Object.keys(configFileSchema.shape)
    if (path.length === 2 && path[0] === "secrets") return Object.keys(secretSchema.shape)
    return []
}

function unknownKeyProblem(path: readonly KeySegment[], key: string, data: unknown): Problem {
    const at = [...path, key]
    const known = knownKeys(path)
    const guess = suggestion(key, known)
    if (guess !== undefined) return { path: at, message: `unknown key; did you mean ${guess}?` }

    const value = (data as Record<string, unknown> | undefined)?.[key]
    if (path.length === 0 && looksLikeSecret(value)) {
        return {
            path: at,
            message: `unknown key; a secret goes under secrets (in TOML: [secrets.${key}])`,
        }
    }
    return { path: at, message: `unknown key (known keys: ${known.join(", ")})` }
}

/** Follows `path` into the parsed file. */
function valueAt(root: unknown, path: readonly KeySegment[]): unknown {
    let node = root
    for (const segment of path) {
        if (node === null || typeof node !== "object") return undefined
        node = (node as Record<string | number, unknown>)[segment]
    }
    return node
}

/** The problems of a failed validation of `data`, one per issue and one per unknown key. */
export function issueProblems(issues: readonly z.core.$ZodIssue[], data: unknown): Problem[] {
    const problems: Problem[] = []
    for (const issue of issues) {
        const path = issue.path.filter((s): s is KeySegment => typeof s !== "symbol")
        if (issue.code === "unrecognized_keys") {
            const table = valueAt(data, path)
            for (const key of issue.keys) problems.push(unknownKeyProblem(path, key, table))
            continue
        }
        problems.push({ path, message: issue.message })
    }
    return problems
}
