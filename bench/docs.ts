/**
 * Writing the latest results into docs/benchmarks.md (the whole table) and the
 * README (the rows with a target), each between two marker comments, so the
 * hand-written text around them is kept.
 */
import { readFile, writeFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"

/** The page the results go to. */
export const DOCS_FILE = fileURLToPath(new URL("../../docs/benchmarks.md", import.meta.url))

/** The README, whose "Performance" section holds the targets. */
export const README_FILE = fileURLToPath(new URL("../../README.md", import.meta.url))

/**
 * Replaces the text between the `name` markers of `file` with `markdown`;
 * when the file or its markers are missing, the block is appended with fresh
 * markers.
 */
async function replaceBlock(file: string, name: string, markdown: string): Promise<void> {
    const begin = `<!-- bench:${name}:begin -->`
    const end = `<!-- bench:${name}:end -->`
    const page = await readFile(file, "utf8").catch(() => "# Benchmarks\n")
    const block = `${begin}\n${markdown.trimEnd()}\n${end}`

    const from = page.indexOf(begin)
    const to = page.indexOf(end)
    const updated = from >= 0 && to > from
        ? page.slice(0, from) + block + page.slice(to + end.length)
        : `${page.trimEnd()}\n\n${block}\n`
    await writeFile(file, updated)
}

/** Puts the whole results (table and notes) into docs/benchmarks.md. */
export async function writeResults(markdown: string): Promise<void> {
    await replaceBlock(DOCS_FILE, "results", markdown)
}

/** Puts the targets table into the README. */
export async function writeTargets(markdown: string): Promise<void> {
    await replaceBlock(README_FILE, "targets", markdown)
}
