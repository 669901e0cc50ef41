/**
 * Measuring contenders side by side: the runs of every contender of a row are
 * interleaved (A, B, A, B, …) so that a change in the machine's load hits all
 * of them alike, and each contender's median is what the table shows.
 */

/** One way of doing the job a row measures. */
export interface Contender {
    /** What the table calls it, e.g. `homeage start`. */
    label: string
    /** Timed runs wanted. */
    runs: number
    /** One untimed run first (page cache, lazy compilation), for cheap contenders. */
    warmUp?: boolean
    /** Untimed work before every run, such as emptying the runtime dir. */
    prepare?: () => Promise<void>
    /** Does the job once and returns how long it took, in seconds. */
    measure: () => Promise<number>
    /** Untimed check, after the first timed run, that the job was really done. */
    verify?: () => Promise<void>
}

/** A contender's timed runs. */
export interface Sample {
    label: string
    /** Seconds of each timed run, in the order they were made. */
    seconds: number[]
    /** Timed runs wanted; more than `seconds.length` when the row's budget ran out. */
    wanted: number
}

/** Reports progress on standard error, one line per timed run. */
export type Progress = (line: string) => void

/**
 * Runs `contenders` in interleaved rounds until each has made its runs, or
 * has spent `budgetSeconds` (every contender gets at least one timed run).
 * Returns one {@link Sample} per contender, in the same order.
 */
export async function sideBySide(
    row: string, contenders: Contender[], budgetSeconds: number, progress: Progress,
): Promise<Sample[]> {
    const samples = contenders.map((c) => ({ label: c.label, seconds: [] as number[],
        wanted: c.runs }))
    const spent = contenders.map(() => 0)

    for (const contender of contenders.filter((c) => c.warmUp === true)) {
        await contender.prepare?.()
        await contender.measure()
    }

    const rounds = Math.max(...contenders.map((c) => c.runs))
    for (let round = 0; round < rounds; round++) {
        for (const [i, contender] of contenders.entries()) {
            const sample = samples[i]!
            if (round >= contender.runs) continue
            if (round > 0 && spent[i]! >= budgetSeconds) continue

            await contender.prepare?.()
            const seconds = await contender.measure()
            sample.seconds.push(seconds)
            spent[i] = spent[i]! + seconds
            progress(`${row}: ${contender.label}, run ${round + 1}/${contender.runs}: ` +
                formatSeconds(seconds))
            if (round === 0) await contender.verify?.()
        }
    }
    return samples
}

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: number[]): number {
    if (values.length === 0) return Number.NaN
    const sorted = [...values].sort((a, b) => a - b)
    const middle = Math.floor(sorted.length / 2)
    if (sorted.length % 2 === 1) return sorted[middle]!
    return (sorted[middle - 1]! + sorted[middle]!) / 2
}

/** The median of a sample's runs. */
export function medianOf(sample: Sample): number {
    return median(sample.seconds)
}

/** A duration for the table: µs, ms or s with three significant digits. */
export function formatSeconds(seconds: number): string {
    if (!Number.isFinite(seconds)) return "n/a"
    if (seconds < 1e-3) return `${(seconds * 1e6).toPrecision(3)} µs`
    if (seconds < 1) return `${(seconds * 1e3).toPrecision(3)} ms`
    return `${seconds.toPrecision(3)} s`
}

/** Bytes per MB in throughput figures (decimal, as `MB/s` is usually meant). */
export const BYTES_PER_MB = 1e6

/** Bytes per MiB. */
export const BYTES_PER_MIB = 1024 * 1024

/** A throughput for the table, in MB/s. */
export function formatThroughput(bytes: number, seconds: number): string {
    return `${(bytes / BYTES_PER_MB / seconds).toPrecision(3)} MB/s`
}

/** A memory size given in KiB, for the table, in MiB. */
export function formatKiB(kib: number): string {
    return `${(kib / 1024).toFixed(1)} MiB`
}
