/**
 * Finds where a JSON text stops being valid. `JSON.parse` in Node.js 20 does
 * not always say where (an unexpected token has no position), and a config
 * error must name the line and column, so this walks the JSON grammar
 * (RFC 8259) only to find that offset after `JSON.parse` has failed.
 */

/** Where a JSON text is invalid and what was expected there. */
export interface JsonSyntaxError {
    /** Offset of the first character that cannot continue a valid text. */
    offset: number
    /** What was expected, e.g. `a value` or `, or }`. */
    expected: string
}

class Stop extends Error {
    constructor(readonly offset: number, readonly expected: string) {
        super(expected)
    }
}

/** Deepest nesting of objects and arrays walked (levels); a config needs four. */
const MAX_DEPTH = 512

const WHITESPACE = /[ \t\n\r]*/y
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y
const STRING_BODY = /(?:[^"\\\p{Cc}]|[\u007f-\u009f]|\\(?:["\\/bfnrt]|u[0-9A-Fa-f]{4}))*/uy

/** A recursive-descent walk over one JSON text. */
class Walker {
    private at = 0
    private depth = 0

    constructor(private readonly text: string) {}

    document(): void {
        this.space()
        this.value()
        this.space()
        if (this.at < this.text.length) throw new Stop(this.at, "the end of the file")
    }

    private space(): void {
        WHITESPACE.lastIndex = this.at
        WHITESPACE.exec(this.text)
        this.at = WHITESPACE.lastIndex
    }

    private sticky(pattern: RegExp): boolean {
        pattern.lastIndex = this.at
        const match = pattern.exec(this.text)
        if (match === null || match[0] === "") return false
        this.at = pattern.lastIndex
        return true
    }

    private value(): void {
        const c = this.text[this.at]
        if (c === "{" || c === "[") {
            if (this.depth === MAX_DEPTH) throw new Stop(this.at, "less deeply nested values")
            this.depth++
            if (c === "{") {
                this.object()
            } else {
                this.array()
            }
            this.depth--
            return
        }
        if (c === "\"") {
            this.string()
            return
        }
        for (const word of ["true", "false", "null"]) {
            if (this.text.startsWith(word, this.at)) {
                this.at += word.length
                return
            }
        }
        if (!this.sticky(NUMBER)) throw new Stop(this.at, "a value")
    }

    private string(): void {
        this.at++
        STRING_BODY.lastIndex = this.at
        STRING_BODY.exec(this.text)
        this.at = STRING_BODY.lastIndex
        if (this.text[this.at] !== "\"") throw new Stop(this.at, "a closing \" or a valid escape")
        this.at++
    }

    private object(): void {
        this.at++
        this.space()
        if (this.text[this.at] === "}") {
            this.at++
            return
        }
        for (;;) {
            if (this.text[this.at] !== "\"") throw new Stop(this.at, "a key in double quotes")
            this.string()
            this.space()
            if (this.text[this.at] !== ":") throw new Stop(this.at, ":")
            this.at++
            this.space()
            this.value()
            this.space()
            const c = this.text[this.at]
            this.at++
            if (c === "}") return
            if (c !== ",") throw new Stop(this.at - 1, ", or }")
            this.space()
        }
    }

    private array(): void {
        this.at++
        this.space()
        if (this.text[this.at] === "]") {
            this.at++
            return
        }
        for (;;) {
            this.space()
            this.value()
            this.space()
            const c = this.text[this.at]
            this.at++
            if (c === "]") return
            if (c !== ",") throw new Stop(this.at - 1, ", or ]")
        }
    }
}

/**
 * Where `text` stops being valid JSON, or `undefined` when it is valid.
 * Nesting deeper than {@link MAX_DEPTH} levels is reported as the error.
 */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
    try {
        new Walker(text).document()
        return undefined
    } catch (err) {
        if (err instanceof Stop) return { offset: err.offset, expected: err.expected }
        throw err
    }
}

/** The 1-based line and column of `offset` in `text`. */
export function lineAndColumn(text: string, offset: number): { line: number, column: number } {
    const before = text.slice(0, offset)
    const lines = before.split("\n")
    return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 }
}
