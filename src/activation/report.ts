/**
 * How activation talks to the user: a small sink the CLI's logger satisfies,
 * and paths shown the way a user wrote them (`~/…`). Never given plaintext.
 */

/** Where activation sends its lines; the CLI passes its logger. */
export interface Reporter {
    /** One line of the normal report (a secret added, a path kept). */
    info(line: string): void
    /** A detail shown with `-v`. */
    detail(line: string): void
    /** Something to know that does not stop the run. */
    warn(line: string): void
}

/** A reporter that says nothing, for library callers that do not want lines. */
export const silentReporter: Reporter = {
    info: () => undefined,
    detail: () => undefined,
    warn: () => undefined,
}

/** Shows `path` with the home folder as `~`, as users write it in the config. */
export function showPath(path: string, home: string | undefined): string {
    if (home === undefined || home === "" || home === "/") return path
    if (path === home) return "~"
    const prefix = home.endsWith("/") ? home : `${home}/`
    return path.startsWith(prefix) ? `~/${path.slice(prefix.length)}` : path
}

/** A mode as four octal digits, as in the config (`0400`). */
export function showMode(mode: number): string {
    return mode.toString(8).padStart(4, "0")
}
