/**
 * ASCII armor for age files: strict PEM with the type `AGE ENCRYPTED FILE`,
 * 64-column lines of padded base64, LF or CRLF line ends, and whitespace
 * allowed only before the first line and after the last one, as Go age reads
 * it. Decoding streams, so a large armored file is not held in memory.
 */
import { decodeBase64, encodeBase64 } from "./base64.js"
import { FormatProblem } from "./failure.js"
import type { ChunkSink } from "./stream.js"
import type { ByteReader } from "./reader.js"

/** The first line of an armored file. */
export const ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----"

/** The last line of an armored file. */
export const ARMOR_END = "-----END AGE ENCRYPTED FILE-----"

/** Characters per armor line (64), 48 bytes of data. */
const COLUMNS = 64

/** Bytes of data on a full armor line. */
const BYTES_PER_LINE = 48

/** Most whitespace accepted before or after the armor (1 KiB), as Go age. */
const MAX_WHITESPACE = 1024

/** Decoded bytes handed on at once (64 KiB), rather than one 48-byte line at a time. */
const BATCH_BYTES = 64 * 1024

/** Armor text examined at once for a run of full lines (1 MiB). */
const BLOCK_BYTES = 1024 * 1024

/** Longest line read while decoding; anything longer is an error anyway. */
const MAX_LINE = 1024

const WHITESPACE = new Set([0x20, 0x09, 0x0d, 0x0a])

const LF = 0x0a
const CR = 0x0d
const PAD = 0x3d
const URL_MINUS = 0x2d
const URL_UNDERSCORE = 0x5f

/**
 * Whether the file at `reader` is armored: after optional whitespace it
 * starts with `-----` (a binary age file starts with `age-encryption.org/`).
 * Reads ahead without consuming.
 */
export async function looksArmored(reader: ByteReader): Promise<boolean> {
    await reader.fill(MAX_WHITESPACE + ARMOR_BEGIN.length)
    const start = reader.peek(MAX_WHITESPACE + ARMOR_BEGIN.length)
    let i = 0
    while (i < start.length && WHITESPACE.has(start[i] ?? 0)) i++
    return Buffer.from(start.subarray(i, i + 5)).toString("latin1") === "-----"
}

/**
 * Decodes the armored file at `reader`, yielding the binary age file piece by
 * piece. Throws a {@link FormatProblem} of kind `armor` at the first deviation
 * from the format.
 *
 * Runs of full lines are decoded a block at a time (see {@link fullLines});
 * everything else, and any block that fails the block checks, goes line by
 * line, which gives the exact error and line number.
 */
export async function* decodeArmor(reader: ByteReader): AsyncGenerator<Uint8Array> {
    await skipWhitespace(reader, "before")

    const first = await readArmorLine(reader)
    if (first !== ARMOR_BEGIN) throw problem(`the first line is not ${ARMOR_BEGIN}`)

    let batch: Uint8Array[] = []
    let batched = 0
    let number = 2
    let lineByLineUntil = 0
    for (;;) {
        const block = number < lineByLineUntil ? undefined : await fullLines(reader)
        if (block !== undefined && !block.valid) lineByLineUntil = number + block.lines
        if (block?.valid === true) {
            if (batched > 0) yield Buffer.concat(batch)
            batch = []
            batched = 0
            yield block.bytes
            number += block.lines
            continue
        }

        const line = await readArmorLine(reader)
        if (line === undefined) throw problem(`the ${ARMOR_END} line is missing`)
        if (line === ARMOR_END) break
        if (line.length === 0) throw problem(`line ${number} is empty`)
        if (line.length > COLUMNS) throw problem(`line ${number} is longer than 64 columns`)

        const bytes = decodeBase64(line, true)
        if (bytes === undefined) throw problem(`line ${number} is not canonical base64`)
        batch.push(bytes)
        batched += bytes.length
        if (batched >= BATCH_BYTES) {
            yield Buffer.concat(batch)
            batch = []
            batched = 0
        }
        if (bytes.length === BYTES_PER_LINE) {
            number++
            continue
        }

        if (await readArmorLine(reader) !== ARMOR_END) {
            throw problem(`line ${number} is short but not followed by ${ARMOR_END}`)
        }
        break
    }

    if (batched > 0) yield Buffer.concat(batch)
    await skipWhitespace(reader, "after")
    if (await reader.fill(1) > 0) throw problem(`there is data after ${ARMOR_END}`)
}

/** A run of full armor lines found at the reader's position. */
type FullLines =
    | { valid: true, lines: number, bytes: Uint8Array }
    | { valid: false, lines: number }

/**
 * Looks for a run of full lines (64 base64 characters, then LF or CRLF, the
 * same line end throughout) in the next {@link BLOCK_BYTES} of armor, and
 * decodes the run at once, consuming it. A full line needs no padding and is
 * always canonical, so the run is valid exactly when it holds no `=`, none of
 * the URL-safe `-` and `_` that Node's decoder would accept, and decodes to 48
 * bytes per line: Node's decoder skips any other character, which would make
 * the result shorter. `valid: false` leaves the reader where it was and says
 * how many lines to read one by one; `undefined` when no full line is next.
 */
async function fullLines(reader: ByteReader): Promise<FullLines | undefined> {
    await reader.fill(BLOCK_BYTES)
    const view = reader.contiguous(BLOCK_BYTES)

    let stride = 0
    if (view[COLUMNS] === LF) stride = COLUMNS + 1
    else if (view[COLUMNS] === CR && view[COLUMNS + 1] === LF) stride = COLUMNS + 2
    if (stride === 0) return undefined

    let lines = 0
    while ((lines + 1) * stride <= view.length && view[(lines + 1) * stride - 1] === LF
        && (stride === COLUMNS + 1 || view[(lines + 1) * stride - 2] === CR)) lines++

    const text = Buffer.from(view.buffer, view.byteOffset, lines * stride)
    if (text.includes(PAD) || text.includes(URL_MINUS) || text.includes(URL_UNDERSCORE)) {
        return { valid: false, lines }
    }
    const bytes = Buffer.from(text.toString("latin1"), "base64")
    if (bytes.length !== lines * BYTES_PER_LINE) return { valid: false, lines }

    reader.skip(lines * stride)
    return { valid: true, lines, bytes }
}

async function skipWhitespace(reader: ByteReader, where: "before" | "after"): Promise<void> {
    for (let skipped = 0; ; skipped++) {
        if (await reader.fill(1) === 0) return
        if (!WHITESPACE.has(reader.peek(1)[0] ?? 0)) return
        if (skipped >= MAX_WHITESPACE) throw problem(`too much whitespace ${where} the armor`)
        reader.take(1)
    }
}

/** One line without its LF or CRLF; `undefined` at the end of the file. */
async function readArmorLine(reader: ByteReader): Promise<string | undefined> {
    const bytes = await reader.readLine(MAX_LINE)
    if (bytes === undefined) throw problem("a line is far too long")
    if (bytes.length === 0) return undefined

    let text = Buffer.from(bytes).toString("latin1")
    if (text.endsWith("\n")) text = text.slice(0, -1)
    if (text.endsWith("\r")) text = text.slice(0, -1)
    return text
}

/**
 * An armor encoder: give it the binary file piece by piece through
 * {@link ArmorEncoder.write}, then call {@link ArmorEncoder.end}; complete
 * lines go to `sink` as they fill.
 */
export class ArmorEncoder {
    private pending = new Uint8Array(0)
    private started = false

    constructor(private readonly sink: ChunkSink) {}

    /** Adds bytes of the binary file. */
    async write(bytes: Uint8Array): Promise<void> {
        await this.begin()
        const all = new Uint8Array(this.pending.length + bytes.length)
        all.set(this.pending)
        all.set(bytes, this.pending.length)
        const whole = all.length - (all.length % BYTES_PER_LINE)
        if (whole > 0) await this.sink(lines(all.subarray(0, whole)))
        this.pending = all.slice(whole)
    }

    /** Writes the last line and the END line. */
    async end(): Promise<void> {
        await this.begin()
        const tail = this.pending.length > 0 ? lines(this.pending) : new Uint8Array(0)
        const end = new TextEncoder().encode(`${ARMOR_END}\n`)
        const out = new Uint8Array(tail.length + end.length)
        out.set(tail)
        out.set(end, tail.length)
        await this.sink(out)
        this.pending = new Uint8Array(0)
    }

    private async begin(): Promise<void> {
        if (this.started) return
        this.started = true
        await this.sink(new TextEncoder().encode(`${ARMOR_BEGIN}\n`))
    }
}

function lines(bytes: Uint8Array): Uint8Array {
    const parts: string[] = []
    for (let i = 0; i < bytes.length; i += BYTES_PER_LINE) {
        parts.push(`${encodeBase64(bytes.subarray(i, i + BYTES_PER_LINE), true)}\n`)
    }
    return new TextEncoder().encode(parts.join(""))
}

function problem(detail: string): FormatProblem {
    return new FormatProblem("armor", detail)
}
