/**
 * Bounded concurrency for work over many secrets. What a secret waits on
 * (decryption, the remaining promise-based file calls, a signal's turn of the
 * event loop) overlaps with the others' work, while thousands at once would
 * queue up memory and file descriptors. A pool keeps a few items in flight,
 * returns results in input order, and collects every error instead of
 * keeping the first and losing the rest.
 */

/**
 * How many items a pool works on at once by default. Measured with 100 and
 * 1000 secrets on a 2-core machine: 4 leaves the thread pool waiting on the
 * JavaScript side, above 32 nothing is gained and more file descriptors are
 * open at once.
 */
export const DEFAULT_CONCURRENCY = 16

/** The outcome of one item: its value, or the error it threw. */
export type Settled<R> =
    | { ok: true, value: R }
    | { ok: false, error: unknown }

/** Options of {@link settleAll}. */
export interface PoolOptions {
    /** Most items in flight at once; default {@link DEFAULT_CONCURRENCY}. */
    limit?: number
    /**
     * Called before each item starts. When it throws (an interrupt, say), no
     * further item starts; once the items in flight have finished, the pool
     * throws that error.
     */
    beforeEach?: () => void
    /**
     * Whether an item's error ends the whole run rather than that item (an
     * interrupt, say). Then no further item starts and, once the items in
     * flight have finished, the pool throws the first such error.
     */
    stops?: (error: unknown) => boolean
}

/** A run that ended early: the error that ended it. */
interface Stopped {
    error: unknown
}

/**
 * Runs `work` over `items` with at most `options.limit` items in flight and
 * returns each item's outcome in input order. An item's error is its outcome
 * and does not stop the others, unless `options.stops` says it does or
 * `options.beforeEach` throws (see {@link PoolOptions}); the pool never
 * returns or throws while an item it started is still running.
 */
export async function settleAll<T, R>(
    items: readonly T[], work: (item: T, index: number) => Promise<R>,
    options: PoolOptions = {},
): Promise<Settled<R>[]> {
    const limit = Math.max(1, Math.floor(options.limit ?? DEFAULT_CONCURRENCY))
    const results = new Array<Settled<R>>(items.length)
    let next = 0
    let stopped: Stopped | undefined

    const worker = async (): Promise<void> => {
        while (stopped === undefined && next < items.length) {
            try {
                options.beforeEach?.()
            } catch (error) {
                stopped = { error }
                return
            }

            const index = next++
            try {
                results[index] = { ok: true, value: await work(items[index] as T, index) }
            } catch (error) {
                results[index] = { ok: false, error }
                if (options.stops?.(error) === true) stopped ??= { error }
            }
        }
    }

    const workers = Array.from({ length: Math.min(limit, items.length) }, worker)
    await Promise.all(workers)

    if (stopped !== undefined) throw stopped.error
    return results
}

/**
 * {@link settleAll}, returning the values in input order. When items fail,
 * every item started still runs to its end, then the error of the first
 * failed item (in input order) is thrown; use {@link settleAll} to see every
 * error.
 */
export async function mapAll<T, R>(
    items: readonly T[], work: (item: T, index: number) => Promise<R>,
    options: PoolOptions = {},
): Promise<R[]> {
    const settled = await settleAll(items, work, options)
    return settled.map((outcome) => {
        if (!outcome.ok) throw outcome.error
        return outcome.value
    })
}

/**
 * A budget of bytes shared by concurrent work, so that many large secrets
 * are not all held in memory at once: {@link ByteBudget.use} waits until its
 * bytes fit. One piece of work always runs, however large, so nothing waits
 * forever; waiting work starts in the order it asked.
 */
export class ByteBudget {
    private used = 0
    private running = 0
    private readonly waiting: { bytes: number, start: () => void }[] = []

    /** `bytes`: the most bytes in use at once, unless a single piece needs more. */
    constructor(private readonly bytes: number) {}

    /** Runs `work` once `bytes` fit in the budget, and gives them back when it ends. */
    async use<R>(bytes: number, work: () => Promise<R>): Promise<R> {
        if (!this.fits(bytes) || this.waiting.length > 0) {
            await new Promise<void>((resolve) => {
                this.waiting.push({ bytes, start: resolve })
            })
        } else {
            this.take(bytes)
        }

        try {
            return await work()
        } finally {
            this.used -= bytes
            this.running--
            this.wake()
        }
    }

    private fits(bytes: number): boolean {
        return this.running === 0 || this.used + bytes <= this.bytes
    }

    private take(bytes: number): void {
        this.used += bytes
        this.running++
    }

    private wake(): void {
        for (let first = this.waiting[0]; first !== undefined; first = this.waiting[0]) {
            if (!this.fits(first.bytes)) return
            this.waiting.shift()
            this.take(first.bytes)
            first.start()
        }
    }
}
