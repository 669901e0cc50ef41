/**
 * Writing the latest results into docs/benchmarks.md, between two marker
 * comments, so the hand-written explanation around them is kept.
 */
import { readFile, writeFile } from "node:fs/promises"
import { fileURLToPath } from "node:url"

/** The page the results go to. */
export const DOCS_FILE = fileURLToPath(new URL("../../docs/benchmarks.md", import.meta.url))

const BEGIN = "<!-- bench:results:begin -->"
const END = "<!-- bench:results:end -->"

/**
 * Replaces the text between the result markers of docs/benchmarks.md with
 * `markdown`; when the page or its markers are missing, the results are
 * appended with fresh markers.
 */
export async function writeResults(markdown: string): Promise<void> {
    const page = await readFile(DOCS_FILE, "utf8").catch(() => "# Benchmarks\n")
    const block = `${BEGIN}\n${markdown.trimEnd()}\n${END}`

    const begin = page.indexOf(BEGIN)
    const end = page.indexOf(END)
    const updated = begin >= 0 && end > begin
        ? page.slice(0, begin) + block + page.slice(end + END.length)
        : `${page.trimEnd()}\n\n${block}\n`
    await writeFile(DOCS_FILE, updated)
}
