/**
 * What the authoring commands report through: the CLI's logger fits, and so
 * does any object with these methods (a library caller, a test).
 */

/** Receives the lines the authoring commands print; never plaintext or key material. */
export interface Reporter {
    /** One line per action, such as a secret written. */
    info(line: string): void
    /** Something the user should know that does not stop the run. */
    warn(line: string): void
    /** A detail shown only when asked for (`-v`). */
    detail(line: string): void
}
