/**
 * Reading a config file into plain data: TOML, YAML or JSON by extension.
 * A syntax error names the file, line and column; validation is elsewhere.
 * The TOML and YAML parsers are loaded only for a file in their format (the
 * YAML one alone is a few dozen modules), so a run pays only for the one it
 * reads.
 */
import { readFile, stat } from "node:fs/promises"
import { extname } from "node:path"

import { UsageError, errnoOf, messageOf } from "../errors.js"
import { findJsonSyntaxError, lineAndColumn } from "./json-position.js"

/** The formats a config file can be in. */
export type ConfigFormat = "toml" | "yaml" | "json"

/** The config file extensions homeage reads, in lookup order. */
export const CONFIG_EXTENSIONS = ["toml", "yaml", "yml", "json"] as const

/** Largest config file read (1 MiB); a bigger one is surely not a config file. */
const MAX_CONFIG_BYTES = 1024 * 1024

const FORMATS: Record<string, ConfigFormat> = {
    ".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json",
}

const FORMAT_NAMES: Record<ConfigFormat, string> = { toml: "TOML", yaml: "YAML", json: "JSON" }

/** The format of a config file, from its extension; a `UsageError` for any other. */
export function formatOf(file: string): ConfigFormat {
    const format = FORMATS[extname(file).toLowerCase()]
    if (format !== undefined) return format
    throw new UsageError(`config file ${file}: unknown format; name it *.toml, *.yaml, *.yml `
        + "or *.json")
}

/**
 * Reads a config file's bytes. Throws a `UsageError` naming the file and the
 * fix when it is missing, unreadable, not a regular file or too large.
 */
export async function readConfigBytes(file: string): Promise<Buffer> {
    try {
        const info = await stat(file)
        if (!info.isFile()) throw new UsageError(`config file ${file} is not a regular file`)
        if (info.size > MAX_CONFIG_BYTES) {
            throw new UsageError(`config file ${file} is ${info.size} bytes, more than the `
                + `${MAX_CONFIG_BYTES} a config file may have`)
        }
        return await readFile(file)
    } catch (err) {
        if (err instanceof UsageError) throw err
        const reason = errnoOf(err) === "ENOENT" ? "does not exist" : `cannot be read: ${
            messageOf(err)}`
        throw new UsageError(`config file ${file} ${reason}; name an existing file with `
            + "--config FILE or $HOMEAGE_CONFIG, or run `homeage init` to write one",
        { cause: err })
    }
}

/**
 * A config file's bytes as UTF-8 text, without a byte-order mark. Bytes that
 * are not UTF-8 are a `UsageError` naming the file and the line: read as
 * replacement characters they would become paths no one wrote.
 */
export function configText(bytes: Uint8Array, file: string): string {
    let text: string
    try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes)
    } catch {
        throw new UsageError(`config file ${file}: line ${firstBadLine(bytes)} is not UTF-8 ` +
            "text; save the file as UTF-8")
    }
    return text.startsWith("\uFEFF") ? text.slice(1) : text
}

/** The number (from 1) of the first line of `bytes` that is not valid UTF-8. */
function firstBadLine(bytes: Uint8Array): number {
    const decoder = new TextDecoder("utf-8", { fatal: true })
    let start = 0
    for (let line = 1; ; line++) {
        const end = bytes.indexOf(0x0a, start)
        try {
            decoder.decode(bytes.subarray(start, end === -1 ? bytes.length : end))
        } catch {
            return line
        }
        if (end === -1) return line
        start = end + 1
    }
}

/** Reads a config file as UTF-8 text, without a byte-order mark. */
export async function readConfigText(file: string): Promise<string> {
    return configText(await readConfigBytes(file), file)
}

function syntaxError(file: string, format: ConfigFormat, problems: string[], cause?: unknown):
UsageError {
    const what = `config file ${file} is not valid ${FORMAT_NAMES[format]}`
    if (problems.length === 1) return new UsageError(`${what}: ${problems[0] ?? ""}`, { cause })
    return new UsageError(`${what} (${problems.length} errors)`, { cause, problems })
}

/** The first line of a library's message, without a restated position. */
function firstLine(message: string): string {
    return (message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "").trim()
}

async function parseTomlText(text: string, file: string): Promise<unknown> {
    const { TomlError, parse } = await import("smol-toml")
    try {
        return parse(text)
    } catch (err) {
        if (!(err instanceof TomlError)) throw err
        let reason = firstLine(err.message).replace(/^Invalid TOML document: /, "")
        if (reason.includes("leading zero")) {
            reason += " (a mode is a quoted string: mode = \"0400\")"
        }
        throw syntaxError(file, "toml", [`${file}:${err.line}:${err.column}: ${reason}`], err)
    }
}

async function parseYamlText(text: string, file: string): Promise<unknown> {
    // `yaml` is a CommonJS package: its exports object is the default export,
    // both in Node.js and in the bundle (which has no named exports for it).
    const { parseDocument } = (await import("yaml")).default
    const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
    if (document.errors.length > 0) {
        const problems = document.errors.map((error) => {
            const where = error.linePos?.[0]
            const position = where === undefined ? "" : `${where.line}:${where.col}:`
            return `${file}:${position} ${firstLine(error.message)}`
        })
        throw syntaxError(file, "yaml", problems, document.errors[0])
    }
    return document.toJS() as unknown
}

function parseJsonText(text: string, file: string): unknown {
    try {
        return JSON.parse(text) as unknown
    } catch (err) {
        const found = findJsonSyntaxError(text)
        const offset = found?.offset ?? text.length
        const { line, column } = lineAndColumn(text, offset)
        const reason = offset >= text.length
            ? "unexpected end of file"
            : `expected ${found?.expected ?? "valid JSON"}`
        throw syntaxError(file, "json", [`${file}:${line}:${column}: ${reason}`], err)
    }
}

/**
 * Parses config `text` in `format` into plain data (tables as objects). An
 * empty TOML or YAML file is an empty table. Throws a `UsageError` naming the
 * file, line and column of each syntax error.
 */
export async function parseConfigText(
    text: string, format: ConfigFormat, file: string,
): Promise<unknown> {
    if (format === "toml") return parseTomlText(text, file)
    if (format === "json") return parseJsonText(text, file)

    const data = await parseYamlText(text, file)
    return data ?? {}
}
