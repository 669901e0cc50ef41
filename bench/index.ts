/**
 * `npm run bench`: measures homeage against the shell-and-age way it
 * replaces and prints one table (see docs/benchmarks.md for how to read it).
 * Progress goes to standard error, the table and its notes to standard
 * output. Exit status 1 when a section could not be measured, 2 for bad flags.
 */
import { cpus, loadavg } from "node:os"

import { DOCS_FILE, README_FILE, writeResults, writeTargets } from "./docs.js"
import { identityRows } from "./identities.js"
import { largeRows } from "./large.js"
import { loginRows } from "./login.js"
import type { Progress } from "./measure.js"
import { BenchUsageError, parseOptions, USAGE } from "./options.js"
import type { BenchOptions, Section } from "./options.js"
import { startupRows } from "./startup.js"
import { renderMarkdown, renderTargets, renderText } from "./table.js"
import type { Row } from "./table.js"
import { ageVersion, Workspace } from "./workspace.js"

/** Exit status for bad flags. */
const EXIT_USAGE = 2

/** Exit status when a section failed. */
const EXIT_FAILED = 1

/** Exit status after Ctrl-C (128 + SIGINT). */
const EXIT_INTERRUPTED = 130

const progress: Progress = (line) => {
    process.stderr.write(`bench: ${line}\n`)
}

/** What a run produced: the table, notes under it, and whether every section worked. */
interface Results {
    rows: Row[]
    notes: string[]
    failed: boolean
}

async function measureAll(ws: Workspace, options: BenchOptions): Promise<Results> {
    const results: Results = { rows: [], notes: [], failed: false }
    if (!ws.onTmpfs) {
        results.notes.push("Runtime dirs and outputs are on disk, not tmpfs: the benchmark " +
            "needs root to mount a tmpfs; login rows then include disk writes.")
    }

    const sections: Record<Section, () => Promise<Row[]>> = {
        startup: () => startupRows(options, progress),
        identity: () => identityRows(ws, options, progress),
        login: () => loginRows(ws, options, progress),
        large: () => largeRows(ws, options, progress, results.notes),
    }
    for (const section of options.sections) {
        const started = Date.now()
        try {
            results.rows.push(...await sections[section]())
        } catch (err) {
            results.failed = true
            const message = err instanceof Error ? err.message : String(err)
            results.notes.push(`Section ${section} failed: ${message.split("\n").join(" / ")}`)
            progress(`section ${section} failed: ${message}`)
        }
        progress(`section ${section} took ${((Date.now() - started) / 1000).toFixed(0)} s`)
    }
    return results
}

function machineNotes(loadBefore: number[], options: BenchOptions, age: string): string[] {
    const cores = cpus()
    const load = (l: number[]): string => l.map((x) => x.toFixed(2)).join(" ")
    const notes = [
        `Machine: ${cores.length} x ${cores[0]?.model.trim() ?? "unknown CPU"}; Node.js ` +
            `${process.version}; Go age ${age}.`,
        `Load average (1, 5, 15 min) ${load(loadBefore)} at the start, ${load(loadavg())} at ` +
            `the end; ${options.quick ? "--quick run" : "full run"}, median of ` +
            `${options.runs} runs (${options.slowRuns} for the slowest rows).`,
    ]
    if (Math.max(loadBefore[0] ?? 0, loadavg()[0] ?? 0) > cores.length) {
        notes.push("The machine was busy (load above its core count): the absolute times " +
            "are inflated; the ratios, measured side by side, suffer less.")
    }
    return notes
}

async function main(argv: string[]): Promise<number> {
    let options: BenchOptions | "help"
    try {
        options = parseOptions(argv, process.env)
    } catch (err) {
        if (!(err instanceof BenchUsageError)) throw err
        process.stderr.write(`bench: ${err.message}\n`)
        return EXIT_USAGE
    }
    if (options === "help") {
        process.stdout.write(USAGE)
        return 0
    }

    const loadBefore = loadavg()
    const started = Date.now()
    const ws = await Workspace.create()
    const interrupted = (): void => {
        ws.dispose()
        process.exit(EXIT_INTERRUPTED)
    }
    process.once("SIGINT", interrupted)
    process.once("SIGTERM", interrupted)

    let results: Results
    try {
        results = await measureAll(ws, options)
        results.notes.unshift(...machineNotes(loadBefore, options, await ageVersion()))
    } finally {
        ws.dispose()
        process.off("SIGINT", interrupted)
        process.off("SIGTERM", interrupted)
    }

    const minutes = ((Date.now() - started) / 60_000).toFixed(1)
    results.notes.push(`The whole run took ${minutes} min.`)
    process.stdout.write(`\n${renderText(results.rows)}\n\n`)
    for (const note of results.notes) process.stdout.write(`- ${note}\n`)

    if (options.writeDocs) {
        const flags = argv.length === 0 ? "" : ` -- ${argv.join(" ")}`
        const markdown = [
            `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench${flags}\`:`,
            "",
            renderMarkdown(results.rows),
            "",
            ...results.notes.map((n) => `- ${n}`),
        ].join("\n")
        await writeResults(markdown)
        await writeTargets([
            `Measured ${new Date().toISOString().slice(0, 10)} with \`npm run bench${flags}\` ` +
                `(${results.notes[0] ?? ""}):`,
            "",
            renderTargets(results.rows),
        ].join("\n"))
        progress(`wrote the table into ${DOCS_FILE} and the targets into ${README_FILE}`)
    }
    return results.failed ? EXIT_FAILED : 0
}

try {
    process.exitCode = await main(process.argv.slice(2))
} catch (err) {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = EXIT_FAILED
}
