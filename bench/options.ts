/**
 * The benchmark's command line: how many runs each row gets, which sections
 * run, and whether the table is written into docs/benchmarks.md.
 */

/** The sections of the table, in the order they are measured. */
export const SECTIONS = ["startup", "identity", "login", "large"] as const

/** One section of the table. */
export type Section = typeof SECTIONS[number]

/** What one benchmark run does. */
export interface BenchOptions {
    /** Timed runs per row (the median is reported). */
    runs: number
    /** Timed runs of the slowest rows: per-secret login at N = 1000, the 256 MiB decrypt. */
    slowRuns: number
    /**
     * Wall-clock budget of one row's runs, in seconds: once spent, the row
     * stops after the run in progress (at least one run is always made).
     */
    rowBudgetSeconds: number
    /** Seconds spent repeating each in-process unwrap batch. */
    unwrapBatchSeconds: number
    /** Secret counts of the login rows. */
    loginCounts: number[]
    /** Size of the large-file decrypt, in MiB. */
    largeMiB: number
    /** Size of the peak-memory decrypt, in MiB. */
    memoryMiB: number
    sections: Section[]
    quick: boolean
    writeDocs: boolean
}

/** Thrown for a flag the benchmark does not know, or a bad value. */
export class BenchUsageError extends Error {
    override readonly name = "BenchUsageError"
}

/** Runs per row when nothing says otherwise. */
const DEFAULT_RUNS = 5

/** Runs of the slowest rows when nothing says otherwise. */
const DEFAULT_SLOW_RUNS = 3

/** Runs with `--quick`. */
const QUICK_RUNS = 3

/** Runs of the slowest rows with `--quick`. */
const QUICK_SLOW_RUNS = 1

/** Budget of one row (seconds). */
const DEFAULT_ROW_BUDGET_SECONDS = 90

/** Budget of one row with `--quick` (seconds). */
const QUICK_ROW_BUDGET_SECONDS = 12

/** Time per in-process unwrap batch (seconds). */
const DEFAULT_UNWRAP_BATCH_SECONDS = 0.3

/** Time per in-process unwrap batch with `--quick` (seconds). */
const QUICK_UNWRAP_BATCH_SECONDS = 0.1

/** Largest number of runs accepted, so a typo cannot make a run last for hours. */
const MAX_RUNS = 50

/** Largest login secret count accepted (names are `s0001` to `s9999`). */
const MAX_SECRETS = 9999

/** Largest row budget accepted (seconds). */
const MAX_BUDGET_SECONDS = 3600

/** The benchmark's `--help` text. */
export const USAGE = `Usage: npm run bench -- [options]

Measures homeage against the shell-and-age way and prints one table.

Options:
  --quick            fewer runs (${QUICK_RUNS}, ${QUICK_SLOW_RUNS} for the slowest rows), \
shorter budgets
  --runs N           timed runs per row (default ${DEFAULT_RUNS}; env HOMEAGE_BENCH_RUNS)
  --slow-runs N      runs of the slowest rows (default ${DEFAULT_SLOW_RUNS}; \
env HOMEAGE_BENCH_SLOW_RUNS)
  --budget SECONDS   stop repeating a row after this long (default \
${DEFAULT_ROW_BUDGET_SECONDS})
  --only LIST        sections to run, comma-separated: ${SECTIONS.join(", ")}
  --counts LIST      secret counts of the login rows (default 10,100,1000)
  --write-docs       also write the table into docs/benchmarks.md, the targets into README.md
  -h, --help         print this help
`

/**
 * Reads the benchmark's flags from `argv` and `env`. Flags win over the
 * environment; `--quick` sets the defaults that other flags then override.
 * Throws a {@link BenchUsageError} for an unknown flag or a bad number.
 */
export function parseOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions | "help" {
    const quick = argv.includes("--quick")
    const options: BenchOptions = {
        runs: quick ? QUICK_RUNS : DEFAULT_RUNS,
        slowRuns: quick ? QUICK_SLOW_RUNS : DEFAULT_SLOW_RUNS,
        rowBudgetSeconds: quick ? QUICK_ROW_BUDGET_SECONDS : DEFAULT_ROW_BUDGET_SECONDS,
        unwrapBatchSeconds: quick ? QUICK_UNWRAP_BATCH_SECONDS : DEFAULT_UNWRAP_BATCH_SECONDS,
        loginCounts: [10, 100, 1000],
        largeMiB: 64,
        memoryMiB: 256,
        sections: [...SECTIONS],
        quick,
        writeDocs: false,
    }
    if (env.HOMEAGE_BENCH_RUNS !== undefined) {
        options.runs = count("HOMEAGE_BENCH_RUNS", env.HOMEAGE_BENCH_RUNS)
    }
    if (env.HOMEAGE_BENCH_SLOW_RUNS !== undefined) {
        options.slowRuns = count("HOMEAGE_BENCH_SLOW_RUNS", env.HOMEAGE_BENCH_SLOW_RUNS)
    }

    for (let i = 0; i < argv.length; i++) {
        const flag = argv[i] ?? ""
        const value = (): string => {
            const next = argv[++i]
            if (next === undefined) throw new BenchUsageError(`${flag} needs a value`)
            return next
        }
        switch (flag) {
            case "--quick":
                break
            case "--runs":
                options.runs = count(flag, value())
                break
            case "--slow-runs":
                options.slowRuns = count(flag, value())
                break
            case "--budget":
                options.rowBudgetSeconds = count(flag, value(), MAX_BUDGET_SECONDS)
                break
            case "--only":
                options.sections = sectionList(value())
                break
            case "--counts":
                options.loginCounts = countList(flag, value())
                break
            case "--write-docs":
                options.writeDocs = true
                break
            case "-h":
            case "--help":
                return "help"
            default:
                throw new BenchUsageError(`unknown option ${flag}\n\n${USAGE}`)
        }
    }
    return options
}

function count(name: string, text: string, max = MAX_RUNS): number {
    const n = Number(text)
    if (!Number.isInteger(n) || n < 1 || n > max) {
        throw new BenchUsageError(`${name}: expected a whole number from 1 to ${max}, ` +
            `got ${text}`)
    }
    return n
}

function countList(name: string, text: string): number[] {
    const counts = text.split(",").map((p) => count(name, p.trim(), MAX_SECRETS))
    return [...new Set(counts)].sort((a, b) => a - b)
}

function sectionList(text: string): Section[] {
    const picked: Section[] = []
    for (const part of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
        const section = SECTIONS.find((s) => s === part)
        if (section === undefined) {
            throw new BenchUsageError(`--only: unknown section ${part} ` +
                `(choose from ${SECTIONS.join(", ")})`)
        }
        picked.push(section)
    }
    if (picked.length === 0) throw new BenchUsageError("--only: name at least one section")
    return picked
}
