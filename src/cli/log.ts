/**
 * The CLI's output: one line per action at the default level, details under
 * `-v`, nothing but errors under `-q`. Never given plaintext or key material.
 */

/** How much the CLI says. */
export type Verbosity = "quiet" | "normal" | "verbose"

/** Where and how log lines are written. */
export interface LogOptions {
    verbosity: Verbosity
    color: boolean
    /** Commands whose standard output carries data (decrypt, encrypt) log to stderr only. */
    infoToStderr?: boolean
}

/** A line-oriented logger for one CLI run. */
export class Logger {
    readonly verbosity: Verbosity
    private readonly color: boolean
    private readonly infoToStderr: boolean

    constructor(options: LogOptions) {
        this.verbosity = options.verbosity
        this.color = options.color
        this.infoToStderr = options.infoToStderr ?? false
    }

    /** A line of the normal report, such as one secret added or removed. */
    info(line: string): void {
        if (this.verbosity === "quiet") return
        if (this.infoToStderr) this.write(process.stderr, line)
        else emit(process.stdout, `${line}\n`)
    }

    /** A line shown only with `-v`. */
    detail(line: string): void {
        if (this.verbosity !== "verbose") return
        this.write(process.stderr, this.paint("2", line))
    }

    /** Something the user should know that does not stop the run. */
    warn(line: string): void {
        if (this.verbosity === "quiet") return
        this.write(process.stderr, `${this.paint("33", "warning:")} ${line}`)
    }

    /** A failure; always shown. */
    error(line: string): void {
        this.write(process.stderr, `${this.paint("31", "error:")} ${line}`)
    }

    private paint(code: string, text: string): string {
        return this.color ? `\x1b[${code}m${text}\x1b[0m` : text
    }

    private write(stream: NodeJS.WriteStream, line: string): void {
        emit(stream, `homeage: ${line}\n`)
    }
}

/**
 * Writes a log line, dropping it if the stream fails: a write to a file on a
 * full disk throws at once, and a line lost is better than a switch stopped
 * half-way (a failing pipe reports later, and is ignored in main.ts).
 */
function emit(stream: NodeJS.WriteStream, text: string): void {
    try {
        stream.write(text)
    } catch {
        // The line is lost; the run goes on.
    }
}

/** Whether color is wanted: a terminal, no `--no-color`, no `NO_COLOR`. */
export function wantsColor(noColorFlag: boolean): boolean {
    if (noColorFlag) return false
    if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "") return false
    return process.stderr.isTTY
}
