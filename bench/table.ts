/**
 * The benchmark's one table: rows comparing homeage with a baseline, each
 * with its ratio, its target and whether the target was met, rendered as
 * aligned text for the terminal or as Markdown for docs/benchmarks.md.
 */
import { formatSeconds, medianOf } from "./measure.js"
import type { Sample } from "./measure.js"

/** One line of the table. Every cell is text; empty cells print as `-`. */
export interface Row {
    section: string
    /** What is measured, e.g. `start, N = 1000`. */
    what: string
    homeage: string
    baseline: string
    /** homeage against the baseline, e.g. `24.1x faster`. */
    ratio: string
    target: string
    /** `met`, `missed (...)`, or empty for rows without a target. */
    result: string
    /** Timed runs made, e.g. `5` or `2/3` when the row's budget ran out. */
    runs: string
}

/**
 * A goal for a row: `faster` needs the baseline's time divided by homeage's
 * to reach `factor`; `within` needs homeage's time divided by the baseline's
 * to stay at or under `factor`.
 */
export interface Target {
    kind: "faster" | "within"
    factor: number
    /** How the target reads in the table; default `>= 20x faster` or `<= 2x the time`. */
    text?: string
}

const HEADERS = ["section", "what", "homeage", "baseline", "ratio", "target", "result", "runs"]

/** How many timed runs a sample got, `2/3` when its row ran out of budget. */
export function runsText(...samples: Sample[]): string {
    return samples.map((s) => s.seconds.length === s.wanted
        ? `${s.wanted}`
        : `${s.seconds.length}/${s.wanted}`).join(" + ")
}

/** The speed-up of `subject` over `baseline`: above 1 when `subject` is faster. */
export function speedUp(subject: Sample, baseline: Sample): number {
    return medianOf(baseline) / medianOf(subject)
}

/** A ratio for the table: `12.3x faster` or `1.45x slower`. */
export function ratioText(speed: number): string {
    if (!Number.isFinite(speed)) return "n/a"
    return speed >= 1 ? `${speed.toPrecision(3)}x faster` : `${(1 / speed).toPrecision(3)}x slower`
}

/** The target's text for the table. */
export function targetText(target: Target): string {
    if (target.text !== undefined) return target.text
    return target.kind === "faster"
        ? `>= ${target.factor}x faster`
        : `<= ${target.factor}x the time`
}

/**
 * `met`, or `missed` with the exact gap: how many times faster homeage must
 * become to meet the target.
 */
export function verdict(speed: number, target: Target): string {
    const needed = target.kind === "faster" ? target.factor : 1 / target.factor
    if (!Number.isFinite(speed)) return "n/a"
    if (speed >= needed) return "met"
    return `missed (needs ${(needed / speed).toPrecision(3)}x faster)`
}

/**
 * A row comparing the wall-clock times of `subject` (homeage) and `baseline`,
 * with the medians in the cells and, when given, a target and its verdict.
 */
export function timeRow(
    section: string, what: string, subject: Sample, baseline: Sample, target?: Target,
): Row {
    const speed = speedUp(subject, baseline)
    return {
        section,
        what,
        homeage: formatSeconds(medianOf(subject)),
        baseline: `${baseline.label}: ${formatSeconds(medianOf(baseline))}`,
        ratio: ratioText(speed),
        target: target === undefined ? "" : targetText(target),
        result: target === undefined ? "" : verdict(speed, target),
        runs: runsText(subject, baseline),
    }
}

/** The table as aligned plain text, for the terminal. */
export function renderText(rows: Row[]): string {
    const cells = [HEADERS, ...rows.map(rowCells)]
    const widths = HEADERS.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)))
    const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] ?? 0))
        .join("  ").trimEnd()
    const rule = widths.map((w) => "-".repeat(w)).join("  ")
    return [line(HEADERS), rule, ...cells.slice(1).map(line)].join("\n")
}

/** The table as a Markdown (GitHub) table. */
export function renderMarkdown(rows: Row[]): string {
    const line = (r: string[]): string => `| ${r.map(escapeCell).join(" | ")} |`
    const rule = `|${HEADERS.map(() => "---").join("|")}|`
    return [line(HEADERS), rule, ...rows.map((r) => line(rowCells(r)))].join("\n")
}

/**
 * The rows that have a target, as a shorter Markdown table (what, target,
 * measured ratio, result): the README's summary.
 */
export function renderTargets(rows: Row[]): string {
    const headers = ["what", "homeage", "baseline", "ratio", "target", "result"]
    const line = (r: string[]): string => `| ${r.map(escapeCell).join(" | ")} |`
    const rule = `|${headers.map(() => "---").join("|")}|`
    const body = rows.filter((r) => r.target !== "").map((r) => line([
        `${r.section}: ${r.what}`, r.homeage, r.baseline, r.ratio, r.target, r.result,
    ]))
    return [line(headers), rule, ...body].join("\n")
}

function rowCells(row: Row): string[] {
    return [row.section, row.what, row.homeage, row.baseline, row.ratio, row.target,
        row.result, row.runs].map((c) => c === "" ? "-" : c)
}

function escapeCell(text: string): string {
    return text.replaceAll("|", "\\|")
}
