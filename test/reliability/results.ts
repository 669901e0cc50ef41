/**
 * Counting the cases of a reliability suite and recording them for the table
 * in docs/reliability.md. A suite checks many cases in a loop; each case is
 * counted as passed or failed (with its label and message) instead of
 * stopping the loop, and the test asserts at the end that none failed. When
 * `HOMEAGE_RELIABILITY_RESULTS` names a folder, each suite writes
 * `<suite>.json` there (scripts/reliability-report.ts reads them).
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"

/** The variable naming the folder suites write their results to. */
export const RESULTS_VARIABLE = "HOMEAGE_RELIABILITY_RESULTS"

/** How many failure messages a result file keeps (the rest are counted only). */
const MAX_RECORDED_FAILURES = 20

/** What one suite ran, as the report script reads it. */
export interface SuiteResult {
    /** Short name, also the file name: `crash`, `fuzz`, … */
    suite: string
    /** Order of the suite in the table. */
    order: number
    /** What a case is: `kills`, `cases`, `runs`. */
    unit: string
    ran: number
    passed: number
    /** What was checked, one phrase per line of the table cell. */
    checked: string[]
    /** The first failures, `label: message`. */
    failures: string[]
}

/** The running count of one suite. */
export class Tally {
    ran = 0
    passed = 0
    readonly failures: string[] = []
    private readonly checked: string[] = []

    constructor(readonly suite: string, readonly order: number, readonly unit: string) {}

    /** Notes one thing the suite checks, for the table (kept once). */
    checks(what: string): void {
        if (!this.checked.includes(what)) this.checked.push(what)
    }

    /**
     * Runs one case: counts it, and records its failure instead of throwing, so
     * that a loop goes on. Returns whether it passed.
     */
    async check(label: string, body: () => Promise<void> | void): Promise<boolean> {
        this.ran++
        try {
            await body()
            this.passed++
            return true
        } catch (err) {
            const message = err instanceof Error ? err.message : String(err)
            this.failures.push(`${label}: ${message.split("\n").slice(0, 12).join("\n")}`)
            return false
        }
    }

    /** Adds cases counted elsewhere (for example by fast-check). */
    add(ran: number, passed: number, failure?: string): void {
        this.ran += ran
        this.passed += passed
        if (failure !== undefined) this.failures.push(failure)
    }

    /**
     * The failures recorded since the failure count `from` (default: all), for
     * `assert.deepEqual(tally.failureList(mark), [])` at the end of a test.
     */
    failureList(from = 0): string[] {
        return this.failures.slice(from)
    }

    /** Writes the result file when the results folder is set. */
    save(): void {
        const folder = process.env[RESULTS_VARIABLE]
        if (folder === undefined || folder === "") return
        mkdirSync(folder, { recursive: true })
        const result: SuiteResult = {
            suite: this.suite, order: this.order, unit: this.unit, ran: this.ran,
            passed: this.passed, checked: this.checked,
            failures: this.failures.slice(0, MAX_RECORDED_FAILURES),
        }
        writeFileSync(join(folder, `${this.suite}.json`), `${JSON.stringify(result, null, 2)}\n`)
    }
}
