/**
 * Runs the reliability suites (dist/test/reliability/*.test.js, and the end to
 * end test on a real systemd user manager, whose last case scans the manager's
 * log, the journal's stand-in, for leaks) one file at a time, collects the
 * result each suite writes, and rewrites the table in
 * docs/reliability.md between its markers: per suite, how many kills, runs
 * or cases ran, how many passed, and what was checked, followed by the
 * failures still open. Exits 1 when a suite failed (the table is written
 * anyway, so it shows the truth).
 *
 * Run after building: `node dist/scripts/reliability-report.js`. With
 * `--no-run DIR`, only rebuilds the table from the results in DIR.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

import { RESULTS_VARIABLE, type SuiteResult } from "../test/reliability/results.js"

/** The page holding the table, from dist/scripts/ back to the repository root. */
const DOC = fileURLToPath(new URL("../../docs/reliability.md", import.meta.url))

/** The compiled suites. */
const SUITES = fileURLToPath(new URL("../test/reliability/", import.meta.url))

/**
 * Other test files that record a row: the systemd end to end test (row
 * `journal`; it records nothing when no user manager can run here).
 */
const OTHER_SUITES = [fileURLToPath(new URL("../test/e2e-systemd.test.js", import.meta.url))]

const BEGIN = "<!-- reliability-table:begin -->"
const END = "<!-- reliability-table:end -->"

/** Failures listed under the table per suite (the result file holds up to 20). */
const LISTED_FAILURES = 5

/** Longest failure line shown in the page (characters). */
const FAILURE_LINE_CHARS = 300

function runSuites(results: string): number {
    const files = readdirSync(SUITES).filter((f) => f.endsWith(".test.js")).sort()
        .map((f) => join(SUITES, f)).concat(OTHER_SUITES)
    const run = spawnSync(process.execPath, ["--test", "--test-concurrency=1",
        "--test-reporter=spec", ...files], {
        stdio: "inherit", env: { ...process.env, [RESULTS_VARIABLE]: results },
    })
    return run.status ?? 1
}

function readResults(folder: string): SuiteResult[] {
    return readdirSync(folder).filter((f) => f.endsWith(".json"))
        .map((f) => JSON.parse(readFileSync(join(folder, f), "utf8")) as SuiteResult)
        .sort((a, b) => a.order - b.order)
}

function cell(text: string): string {
    return text.replaceAll("|", "\\|").replaceAll("\n", " ")
}

function renderTable(results: SuiteResult[], date: string): string {
    const lines = [
        `Last run: ${date}, Node.js ${process.version}, ${process.platform}.`,
        "",
        "| Suite | Ran | Passed | What was checked |",
        "|---|---:|---:|---|",
    ]
    for (const r of results) {
        lines.push(`| ${r.suite} | ${r.ran} ${r.unit} | ${r.passed} | ` +
            `${r.checked.map(cell).join("; ")} |`)
    }
    const total = results.reduce((n, r) => n + r.ran, 0)
    const passed = results.reduce((n, r) => n + r.passed, 0)
    lines.push(`| **all** | ${total} | ${passed} | |`)

    const failing = results.filter((r) => r.failures.length > 0)
    lines.push("")
    if (failing.length === 0) {
        lines.push("Open failures: none.")
        return lines.join("\n")
    }
    lines.push("Open failures (first of each suite):", "")
    for (const r of failing) {
        for (const failure of r.failures.slice(0, LISTED_FAILURES)) {
            const first = failure.split("\n")[0] ?? ""
            lines.push(`- ${r.suite}: ${cell(first.slice(0, FAILURE_LINE_CHARS))}`)
        }
    }
    return lines.join("\n")
}

function writeTable(table: string): void {
    const page = readFileSync(DOC, "utf8")
    const start = page.indexOf(BEGIN)
    const end = page.indexOf(END)
    if (start < 0 || end < start) throw new Error(`${DOC} has no ${BEGIN} … ${END} markers`)
    writeFileSync(DOC, `${page.slice(0, start + BEGIN.length)}\n${table}\n${page.slice(end)}`)
}

const given = process.argv.indexOf("--no-run")
const folder = given >= 0 ? process.argv[given + 1] : undefined
const results = folder ?? mkdtempSync(join(tmpdir(), "homeage-reliability-"))
const status = folder === undefined ? runSuites(results) : 0

const table = renderTable(readResults(results), new Date().toISOString().slice(0, 10))
writeTable(table)
process.stdout.write(`${table}\n\nwrote ${DOC}\n`)
if (folder === undefined) rmSync(results, { recursive: true, force: true })
process.exitCode = status === 0 ? 0 : 1
