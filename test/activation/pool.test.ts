/**
 * The bounded pool that runs many secrets side by side, the byte budget that
 * keeps large secrets from all being held at once, and folder creation when
 * many secrets race to create the same folders.
 */
import assert from "node:assert/strict"
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, test } from "node:test"
import { setImmediate as nextTurn } from "node:timers/promises"

import fc from "fast-check"

import { FolderMaker, makeFolders } from "../../src/fs/folders.js"
import { ByteBudget, mapAll, settleAll } from "../../src/fs/pool.js"

const scratch = mkdtempSync(join(tmpdir(), "homeage-pool-"))
after(() => {
    rmSync(scratch, { recursive: true, force: true })
})

/** Tracks how many calls run at once. */
function gauge(): { enter(): void, leave(): void, readonly peak: number } {
    let now = 0
    let peak = 0
    return {
        enter() {
            now++
            peak = Math.max(peak, now)
        },
        leave() {
            now--
        },
        get peak() {
            return peak
        },
    }
}

/** Waits a few event-loop turns, so calls overlap in an order set by `turns`. */
async function wait(turns: number): Promise<void> {
    for (let i = 0; i < turns; i++) await nextTurn()
}

test("results come back in input order, with at most the limit in flight", async () => {
    await fc.assert(fc.asyncProperty(
        fc.array(fc.nat(5), { maxLength: 60 }), fc.integer({ min: 1, max: 20 }),
        async (delays, limit) => {
            const g = gauge()
            const values = await mapAll(delays, async (delay, i) => {
                g.enter()
                await wait(delay)
                g.leave()
                return i * 10 + delay
            }, { limit })

            assert.deepEqual(values, delays.map((delay, i) => i * 10 + delay))
            assert.ok(g.peak <= limit, `peak ${g.peak} over limit ${limit}`)
            if (delays.length >= limit) assert.equal(g.peak, limit)
        }), { numRuns: 60 })
})

test("every error is collected in input order; the others still run", async () => {
    const ran: number[] = []
    const settled = await settleAll([0, 1, 2, 3, 4, 5, 6], async (n) => {
        await wait(7 - n)
        ran.push(n)
        if (n % 3 === 0) throw new Error(`item ${n} failed`)
        return n
    }, { limit: 3 })

    assert.deepEqual([...ran].sort(), [0, 1, 2, 3, 4, 5, 6])
    assert.deepEqual(settled.map((s) => (s.ok ? s.value : (s.error as Error).message)),
        ["item 0 failed", 1, 2, "item 3 failed", 4, 5, "item 6 failed"])

    // mapAll waits for every item, then throws the first failure in input order.
    const finished: number[] = []
    await assert.rejects(mapAll([5, 1, 3], async (n) => {
        await wait(n)
        finished.push(n)
        if (n !== 5) throw new Error(`item ${n} failed`)
        return n
    }), { message: "item 1 failed" })
    assert.deepEqual(finished.sort(), [1, 3, 5])
})

test("a stop (as an interrupt) starts nothing more, waits for the work in flight, " +
    "then throws", async () => {
    const started: number[] = []
    const finished: number[] = []
    let stop = false
    const items = Array.from({ length: 20 }, (_, i) => i)
    const run = settleAll(items, async (n) => {
        started.push(n)
        if (n === 5) stop = true
        await wait(3)
        finished.push(n)
        return n
    }, {
        limit: 4,
        beforeEach: () => {
            if (stop) throw new Error("interrupted")
        },
    })

    await assert.rejects(run, { message: "interrupted" })
    assert.ok(started.length < items.length, `started ${started.length}`)
    assert.deepEqual([...finished].sort((a, b) => a - b), [...started].sort((a, b) => a - b))

    const stopping = await settleAll(items, async (n) => {
        await wait(2)
        if (n === 2) throw new Error("fatal")
        return n
    }, { limit: 2, stops: (err) => (err as Error).message === "fatal" }).catch((e: unknown) => e)
    assert.equal((stopping as Error).message, "fatal")
})

test("the byte budget holds large work back until it fits, never blocks one piece",
    async () => {
        const budget = new ByteBudget(100)
        let inUse = 0
        let peak = 0
        const order: string[] = []
        const piece = (name: string, bytes: number, turns: number) =>
            budget.use(bytes, async () => {
                inUse += bytes
                peak = Math.max(peak, inUse)
                order.push(`start ${name}`)
                await wait(turns)
                inUse -= bytes
                return name
            })

        const names = await Promise.all([
            piece("a", 60, 4), piece("b", 30, 1), piece("huge", 500, 1), piece("c", 10, 1),
        ])
        assert.deepEqual(names, ["a", "b", "huge", "c"])
        // a and b fit together; huge waits until it runs alone; c waits behind it.
        assert.deepEqual(order, ["start a", "start b", "start huge", "start c"])
        assert.equal(peak, 500)

        await assert.rejects(budget.use(10, () => Promise.reject(new Error("no"))), /no/)
        assert.equal(await budget.use(100, () => Promise.resolve("free again")), "free again")
    })

test("folders raced by many secrets are created once, recorded once, mode 0700; " +
    "folders found are never recorded", async () => {
    const existing = join(scratch, "found")
    mkdirSync(existing, { mode: 0o755 })
    const shared = join(existing, "links", "deep")
    const targets = Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0 ? shared : join(existing, "links", `own-${i % 5}`))

    const maker = new FolderMaker()
    await Promise.all(targets.map((folder) => maker.make(folder)))
    const expected = [join(existing, "links"), ...new Set(targets)]
    assert.deepEqual([...maker.created].sort(), expected.sort())
    for (const folder of expected) assert.equal(statSync(folder).mode & 0o7777, 0o700)
    assert.equal(statSync(existing).mode & 0o7777, 0o755)

    // Without the maker's sharing, each racing call still claims only what its mkdir made.
    const raced = join(scratch, "raced", "a", "b")
    const claims = await Promise.all(Array.from({ length: 30 }, () => makeFolders(raced)))
    assert.deepEqual(claims.flat().sort(),
        [join(scratch, "raced"), join(scratch, "raced", "a"), raced])
    assert.deepEqual(await makeFolders(raced), [])
})
