/**
 * The age header (age-encryption.org/v1): parsing it as strictly as Go age
 * does, encoding it, and its MAC. The C2SP test vectors are the reference for
 * what is accepted.
 */
import { createHmac, timingSafeEqual } from "node:crypto"

import { decodeBase64, encodeBase64 } from "./base64.js"
import { FormatProblem } from "./failure.js"
import { hkdfSha256 } from "./hkdf.js"
import type { ByteReader } from "./reader.js"

/** The first line of every binary age file. */
export const VERSION_LINE = "age-encryption.org/v1"

/** Bytes of a file key. */
export const FILE_KEY_BYTES = 16

/** Bytes of the header MAC (HMAC-SHA-256). */
const MAC_BYTES = 32

/** Bytes of stanza body per base64 line; a shorter line ends the body. */
const BODY_BYTES_PER_LINE = 48

/** Longest header line read (256 KiB); post-quantum stanza lines are about 1.5 KiB. */
const MAX_LINE_BYTES = 256 * 1024

/** Largest header read (4 MiB), so that a garbage file cannot exhaust memory. */
const MAX_HEADER_BYTES = 4 * 1024 * 1024

/**
 * One stanza of a header: its arguments (the first names the recipient type)
 * and its body. Shaped as typage's `Stanza`, so that typage's stanzas fit
 * wherever ours go, without loading typage (and its post-quantum code) for
 * the key types we implement ourselves.
 */
export interface Stanza {
    /** The space-separated arguments after `->`, each non-empty and without spaces. */
    readonly args: string[]
    /** The raw body, base64-encoded in the header. */
    readonly body: Uint8Array
}

/** Bytes of the HMAC key derived from the file key. */
const MAC_KEY_BYTES = 32

const HEADER_LABEL = Buffer.from("header")

/** A parsed header: its stanzas, the bytes the MAC covers, and the MAC. */
export interface Header {
    stanzas: Stanza[]
    /** The header up to and including `---`, which the MAC is computed over. */
    macInput: Uint8Array
    mac: Uint8Array
}

const decoder = new TextDecoder()

/**
 * Reads the header from `reader`, leaving it at the first byte after the MAC
 * line (the payload nonce). Throws a {@link FormatProblem} of kind `header` for
 * anything Go age rejects: a wrong version line, CR or non-ASCII bytes, empty
 * or invalid stanza arguments, non-canonical or over-long base64 body lines, a
 * body without its final short line, and a malformed MAC line. A `scrypt`
 * stanza must be the only stanza.
 */
export async function readHeader(reader: ByteReader): Promise<Header> {
    const raw: Uint8Array[] = []
    let total = 0
    let lineNumber = 0
    const nextLine = async (): Promise<string | undefined> => {
        const bytes = await reader.readLine(MAX_LINE_BYTES)
        lineNumber++
        if (bytes === undefined) throw problem(`line ${lineNumber} is too long`)
        total += bytes.length
        if (total > MAX_HEADER_BYTES) throw problem("the header is too large")
        raw.push(bytes)
        if (bytes.length === 0 || bytes[bytes.length - 1] !== 0x0a) return undefined
        const body = bytes.subarray(0, bytes.length - 1)
        if (!body.every((b) => b >= 0x20 && b <= 0x7e)) {
            throw problem(`line ${lineNumber} has a control or non-ASCII character`)
        }
        return decoder.decode(body)
    }

    const version = await nextLine()
    if (version === undefined && total === 0) throw problem("the file is empty")
    if (version !== VERSION_LINE) {
        const what = version?.startsWith("age-encryption.org/") === true
            ? "it is of an unsupported age format version"
            : "it does not start with the age version line"
        throw problem(`not an age file: ${what}`)
    }

    const stanzas: Stanza[] = []
    for (;;) {
        const line = await nextLine()
        if (line === undefined) throw problem("the header ends before its MAC line")

        if (line.startsWith("---")) {
            const mac = parseMacLine(line, lineNumber)
            checkScryptAlone(stanzas)
            const all = concat(raw)
            const macInput = all.subarray(0, all.length - line.length - 1 + 3)
            return { stanzas, macInput, mac }
        }
        if (!line.startsWith("-> ")) {
            throw problem(`line ${lineNumber} is neither a stanza nor the MAC line`)
        }

        const args = line.slice(3).split(" ")
        if (args.some((arg) => arg.length === 0)) {
            throw problem(`line ${lineNumber}: a stanza argument is empty`)
        }
        stanzas.push({ args, body: await readBody(nextLine, () => lineNumber) })
    }
}

async function readBody(
    nextLine: () => Promise<string | undefined>, lineNumber: () => number,
): Promise<Uint8Array> {
    const pieces: Uint8Array[] = []
    for (;;) {
        const line = await nextLine()
        if (line === undefined) throw problem("the header ends inside a stanza body")
        const bytes = decodeBase64(line, false)
        if (bytes === undefined) {
            throw problem(`line ${lineNumber()}: a stanza body line is not canonical base64`
                + " (or the stanza lacks its final short line)")
        }
        if (bytes.length > BODY_BYTES_PER_LINE) {
            throw problem(`line ${lineNumber()}: a stanza body line is longer than 64 columns`)
        }
        pieces.push(bytes)
        if (bytes.length < BODY_BYTES_PER_LINE) return concat(pieces)
    }
}

function parseMacLine(line: string, lineNumber: number): Uint8Array {
    const parts = line.split(" ")
    const mac = parts.length === 2 && parts[0] === "---"
        ? decodeBase64(parts[1] ?? "", false)
        : undefined
    if (mac?.length !== MAC_BYTES) throw problem(`line ${lineNumber}: malformed MAC line`)
    return mac
}

function checkScryptAlone(stanzas: Stanza[]): void {
    if (stanzas.length > 1 && stanzas.some((s) => s.args[0] === "scrypt")) {
        throw problem("a passphrase (scrypt) stanza must be the only stanza in the header")
    }
}

/** Encodes a header with its MAC, computed with `fileKey`. */
export function encodeHeader(stanzas: Stanza[], fileKey: Uint8Array): Uint8Array {
    const lines: string[] = [`${VERSION_LINE}\n`]
    for (const stanza of stanzas) {
        lines.push(`-> ${stanza.args.join(" ")}\n`)
        const body = stanza.body
        for (let i = 0; i <= body.length; i += BODY_BYTES_PER_LINE) {
            lines.push(`${encodeBase64(body.subarray(i, i + BODY_BYTES_PER_LINE), false)}\n`)
        }
    }
    lines.push("---")
    const macInput = new TextEncoder().encode(lines.join(""))
    const mac = headerMac(fileKey, macInput)
    return concat([macInput, new TextEncoder().encode(` ${encodeBase64(mac, false)}\n`)])
}

/** The header MAC: HMAC-SHA-256 keyed by HKDF(file key, "header"). */
export function headerMac(fileKey: Uint8Array, macInput: Uint8Array): Uint8Array {
    const key = hkdfSha256(fileKey, new Uint8Array(0), HEADER_LABEL, MAC_KEY_BYTES)
    return createHmac("sha256", new Uint8Array(key)).update(macInput).digest()
}

/** Constant-time comparison of two MACs. */
export function sameMac(a: Uint8Array, b: Uint8Array): boolean {
    return a.length === b.length && timingSafeEqual(a, b)
}

/** Joins byte arrays into one. */
export function concat(pieces: Uint8Array[]): Uint8Array {
    const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0))
    let offset = 0
    for (const piece of pieces) {
        out.set(piece, offset)
        offset += piece.length
    }
    return out
}

function problem(detail: string): FormatProblem {
    return new FormatProblem("header", detail)
}
