/**
 * Secret names. A name is also a file name under the runtime dir and part of
 * a service unit name, so it is kept to a small, portable alphabet.
 */

/** The characters a name may have: ASCII letters, digits, `.`, `_`, `-` and `/`. */
const NAME_CHARACTERS = /^[A-Za-z0-9._/-]*$/

/** Control characters (C0, DEL and C1). */
const CONTROL = /\p{Cc}/u

/**
 * The rule of {@link nameProblems} as a JSON Schema pattern, for editors:
 * segments of allowed characters joined by `/`, none of them `.` or `..`.
 */
export const NAME_PATTERN =
    "^(?!\\.\\.?(?:/|$))[A-Za-z0-9._-]+(?:/(?!\\.\\.?(?:/|$))[A-Za-z0-9._-]+)*$"

/**
 * What is wrong with a secret name, or an empty list when it is fine. Names
 * use ASCII letters, digits and `. _ - /`; a `/` makes a sub-folder, so there
 * is no leading, trailing or doubled `/` and no `.` or `..` segment, which
 * would point outside the secret's own place in the runtime dir.
 */
export function nameProblems(name: string): string[] {
    if (name === "") return ["a secret name must not be empty"]

    const problems: string[] = []
    if (CONTROL.test(name)) problems.push("a secret name must not contain control characters")
    else if (!NAME_CHARACTERS.test(name)) {
        problems.push("a secret name may only contain ASCII letters, digits and . _ - /")
    }
    if (name.startsWith("/")) problems.push("a secret name must not start with /")
    if (name.endsWith("/")) problems.push("a secret name must not end with /")

    const inner = name.replace(/^\/+|\/+$/g, "").split("/")
    if (inner.includes("")) problems.push("a secret name must not have an empty segment (//)")
    if (inner.some((segment) => segment === "." || segment === "..")) {
        problems.push("a secret name must not have a . or .. segment")
    }
    return problems
}
