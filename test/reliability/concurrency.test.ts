/**
 * Concurrency (issue 7): several `activate` (of config A and of config B),
 * `rollback`, `start` and `stop` runs at once on the same state dir. Each run
 * either succeeds or exits 1 naming the holder of the lock (pid and command);
 * none crashes or exits otherwise. The state at the end is one that some
 * serial order of the runs that succeeded requests: the generation that order
 * makes current, with its outputs in place (activate, start, rollback) or
 * removed (stop), compared byte for byte, mode for mode, link for link. One
 * more activate gives exactly the config.
 *
 * Then, one at a time and deterministic (through the inject.js preload): a
 * run that takes the lock between activate's lock-free check and its lock
 * makes activate check again; a no-op activate checks once; a check that
 * fails while another run holds the lock is done again once it is released,
 * and one that fails with no other run around is reported at once without
 * taking the lock. A lock held by a live process makes a run wait, then exit
 * 1 naming it; a lock left by a dead process is taken over.
 */
import assert from "node:assert/strict"
import { spawn } from "node:child_process"
import {
    existsSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync,
} from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { readSettled } from "../../src/generations/lock.js"
import { statePaths } from "../../src/generations/state.js"
import { CLI } from "../helpers/cli.js"
import { diffSnapshots, type Snapshot } from "../helpers/world.js"
import type { Finished } from "./proc.js"
import { Tally } from "./results.js"
import {
    makeSwitchWorld, sameShape, treeDifferences, type Side, type SwitchWorld, type Tree,
} from "./switching.js"

/** Rounds of simultaneous runs, cycling through {@link MIXES}. */
const ROUNDS = 12

const tally = new Tally("concurrency", 2, "runs")
const outputs: string[] = []
let w: SwitchWorld
let unmanagedBefore: Snapshot
/** The trees of the requested end states: `a-up`, `a-down`, `b-up`, `b-down`. */
const ends = new Map<string, Tree>()

type Verb = "activate a" | "activate b" | "start" | "stop" | "rollback"

/** The mixes of a round: four runs started at once. */
const MIXES: { name: string, verbs: Verb[] }[] = [
    {
        name: "activate vs activate",
        verbs: ["activate a", "activate b", "activate a", "activate b"],
    },
    { name: "activate vs start vs stop", verbs: ["activate a", "start", "stop", "activate b"] },
    { name: "rollback vs activate", verbs: ["rollback", "activate a", "activate b", "start"] },
]

const HOLDER = new RegExp("another homeage is running: pid (\\d+) \\(homeage " +
    "(activate|start|stop|rollback|check|deactivate)( --dry-run)?\\)")

/** What homeage's state says, as far as the allowed end states go. */
interface Model {
    /** Stored generations and the config each was made from. */
    generations: { n: number, side: Side }[]
    current: number
    up: boolean
}

function launch(verb: Verb) {
    const [command, side] = verb.split(" ") as [string, Side | undefined]
    return w.start(side ?? "a", [command])
}

/** The tree of a requested end state (`a-up`, …), recorded in `before`. */
function endTree(key: string): Tree {
    const tree = ends.get(key)
    if (tree === undefined) throw new Error(`no end state ${key}`)
    return tree
}

function sameTree(a: Tree, b: Tree): boolean {
    if (a.size !== b.size) return false
    for (const [path, shape] of a) if (!sameShape(shape, b.get(path))) return false
    return true
}

/** Which config a stored generation was made from. */
function sideOf(n: number): Side {
    const manifest = JSON.parse(readFileSync(join(w.state, "generations", `${n}.json`), "utf8")) as
        { configFile: string }
    return manifest.configFile === w.configFile("a") ? "a" : "b"
}

/** The current generation's number. */
function currentNumber(): number {
    return Number(/(\d+)\.json$/.exec(readlinkSync(join(w.state, "current")))?.[1])
}

/** The model of the state on disk now (outputs up when the tree is the current config's). */
function modelNow(): Model {
    const generations = readdirSync(join(w.state, "generations"))
        .filter((f) => /^\d+\.json$/.test(f)).map((f) => Number.parseInt(f, 10))
        .sort((x, y) => x - y).map((n) => ({ n, side: sideOf(n) }))
    const current = currentNumber()
    const side = generations.find((g) => g.n === current)?.side ?? "a"
    return { generations, current, up: sameTree(endTree(`${side}-up`), w.tree()) }
}

/** One run applied to the model, as the product does it; `undefined` when it would fail. */
function step(model: Model, verb: Verb, keep: number): Model | undefined {
    const side = model.generations.find((g) => g.n === model.current)?.side
    if (side === undefined) return undefined
    if (verb === "start" || verb === "stop") return { ...model, up: verb === "start" }
    if (verb === "rollback") {
        const earlier = model.generations.filter((g) => g.n < model.current)
        const target = earlier[earlier.length - 1]
        return target === undefined ? undefined : { ...model, current: target.n, up: true }
    }

    const wanted: Side = verb === "activate a" ? "a" : "b"
    if (wanted === side) return { ...model, up: true }
    const n = Math.max(...model.generations.map((g) => g.n)) + 1
    const all = [...model.generations, { n, side: wanted }]
    const excess = Math.max(0, all.length - keep)
    const removed = new Set(all.filter((g) => g.n !== n).slice(0, excess).map((g) => g.n))
    return { generations: all.filter((g) => !removed.has(g.n)), current: n, up: true }
}

function permutations<T>(items: T[]): T[][] {
    if (items.length <= 1) return [items]
    return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)])
        .map((rest) => [item, ...rest]))
}

/** The end states (`a-up`, `b-down`, …) some serial order of `verbs` gives from `start`. */
function allowedEnds(start: Model, verbs: Verb[]): Set<string> {
    const allowed = new Set<string>()
    for (const order of permutations(verbs)) {
        let model: Model | undefined = start
        for (const verb of order) model = model === undefined ? undefined : step(model, verb, 2)
        if (model === undefined) continue
        const current = model.current
        const side = model.generations.find((g) => g.n === current)?.side
        if (side !== undefined) allowed.add(`${side}-${model.up ? "up" : "down"}`)
    }
    return allowed
}

/** Runs `homeage --config SIDE ARGS…` to the end, keeping its output for the leak scan. */
async function cli(side: Side, args: string[], extra?: NodeJS.ProcessEnv, inject?: boolean) {
    const r = await w.cli(side, args, extra, inject)
    outputs.push(r.stdout, r.stderr)
    return r
}

/** The argv of another homeage run, for `RELIABILITY_BEFORE_LOCK`. */
function otherRun(side: Side, args: string[]): string {
    return JSON.stringify([process.execPath, CLI, "--config", w.configFile(side), ...args])
}

function readEpoch(): string {
    return readFileSync(join(w.state, "epoch"), "utf8")
}

before(async () => {
    w = makeSwitchWorld("concurrency")
    unmanagedBefore = w.unmanagedSnapshot()
    for (const side of ["a", "b"] as const) {
        assert.equal((await w.cli(side, ["activate"])).code, 0)
        ends.set(`${side}-up`, w.tree())
        assert.equal((await w.cli(side, ["stop"])).code, 0)
        ends.set(`${side}-down`, w.tree())
        assert.equal((await w.cli(side, ["start"])).code, 0)
    }
})

after(() => {
    tally.save()
    w.destroy()
})

test("simultaneous activate, rollback, start and stop serialize or name the holder",
    async () => {
        const mark = tally.failures.length
        tally.checks(`${ROUNDS} rounds of 4 simultaneous runs on one state dir, mixes: ` +
            `${MIXES.map((m) => m.name).join("; ")}: each exits 0, or 1 naming the lock's ` +
            "holder (a pid of the round)")
        tally.checks("the end state is one that a serial order of the runs that succeeded " +
            "requests (current generation's config, every path's bytes, mode and link " +
            "target, outputs in place or removed); no temp file, no lock; unmanaged files " +
            "unchanged; one more activate gives exactly the config")
        let seed = 7
        const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
        for (let round = 0; round < ROUNDS; round++) {
            const mix = MIXES[round % MIXES.length] ?? MIXES[0]
            const side: Side = round % 2 === 0 ? "a" : "b"
            if (mix?.verbs.includes("rollback") === true) {
                // Two generations, the newest current, so that there is one to roll back to.
                await cli(side === "a" ? "b" : "a", ["activate"])
                await cli(side, ["activate"])
            }
            const verbs = [...mix?.verbs ?? []].sort(() => next() % 3 - 1)
            const start = modelNow()
            const running = verbs.map((verb) => ({ verb, run: launch(verb) }))
            const pids = new Set(running.map((r) => String(r.run.pid)))
            const results: Finished[] = await Promise.all(running.map((r) => r.run.done))

            const succeeded: Verb[] = []
            for (const [i, r] of results.entries()) {
                outputs.push(r.stdout, r.stderr)
                const verb = verbs[i] ?? "start"
                await tally.check(`round ${round + 1} (${mix?.name ?? ""}): ${verb}`, () => {
                    if (r.code === 0) {
                        succeeded.push(verb)
                        return
                    }
                    assert.equal(r.code, 1, `exit ${r.code} (${r.signal ?? ""}): ${r.stderr}`)
                    const holder = HOLDER.exec(r.stderr)
                    assert.ok(holder !== null, `failed without naming a holder: ${r.stderr}`)
                    assert.ok(pids.has(holder[1] ?? ""), "the named holder is not of this round")
                })
            }

            await tally.check(`round ${round + 1}: end state (${verbs.join(", ")})`, async () => {
                const now = w.tree()
                const current = sideOf(currentNumber())
                const allowed = allowedEnds(start, succeeded)
                const matched = [...allowed].filter((key) => key.startsWith(current)
                    && sameTree(endTree(key), now))
                assert.ok(matched.length > 0, `the end state (generation of config ${current}) ` +
                    `is none of the requested ones (${[...allowed].join(", ")}):\n${
                        treeDifferences(endTree(`${current}-up`), now)
                            .slice(0, 8).join("\n")}`)
                assert.deepEqual(w.temps(), [])
                assert.equal(existsSync(join(w.state, "lock")), false, "the lock is left")
                assert.deepEqual(diffSnapshots(unmanagedBefore, w.unmanagedSnapshot()), [])
                const r = await cli(side, ["activate"])
                assert.equal(r.code, 0, r.stderr)
                assert.deepEqual(treeDifferences(endTree(`${side}-up`), w.tree()),
                    [])
            })
        }
        assert.deepEqual(tally.failureList(mark), [])
    })

test("a run that takes the lock between activate's check and its lock makes it check again",
    async () => {
        const mark = tally.failures.length
        tally.checks("a stop, start or activate of the other config that takes the lock " +
            "between activate's lock-free check and its lock: activate checks again and " +
            "exits 0 with exactly its config")
        assert.equal((await cli("a", ["activate"])).code, 0)
        for (const [side, args] of [["a", ["stop"]], ["b", ["activate"]], ["a", ["start"]]] as
            [Side, string[]][]) {
            await tally.check(`homeage ${args.join(" ")} before the lock`, async () => {
                const r = await cli("a", ["activate"],
                    { RELIABILITY_BEFORE_LOCK: otherRun(side, args) }, true)
                assert.equal(r.code, 0, r.stderr)
                assert.deepEqual(treeDifferences(endTree("a-up"), w.tree()), [])
                assert.deepEqual(w.temps(), [])
            })
        }
        assert.deepEqual(tally.failureList(mark), [])
    })

test("a no-op activate checks once, and again only when another run took the lock",
    async () => {
        const mark = tally.failures.length
        tally.checks("no-op activate: each copy is read once (by the check; the switch keeps " +
            "what it found), twice when a start took the lock in between")
        const reads = join(w.root, "reads.log")
        const copyReads = (): number => readFileSync(reads, "utf8").split("\n")
            .filter((line) => line === `read ${join(w.home, "big-copy")}`).length
        assert.equal((await cli("a", ["activate"])).code, 0)
        await tally.check("nothing in between", async () => {
            rmSync(reads, { force: true })
            const r = await cli("a", ["activate"], { RELIABILITY_READS: reads }, true)
            assert.equal(r.code, 0, r.stderr)
            assert.equal(copyReads(), 1)
        })
        await tally.check("a start in between", async () => {
            rmSync(reads, { force: true })
            const r = await cli("a", ["activate"], {
                RELIABILITY_READS: reads, RELIABILITY_BEFORE_LOCK: otherRun("a", ["start"]),
            }, true)
            assert.equal(r.code, 0, r.stderr)
            assert.equal(copyReads(), 2)
        })
        rmSync(reads, { force: true })
        assert.deepEqual(tally.failureList(mark), [])
    })

test("a failing check is done again under the lock only when another run is at work",
    async () => {
        const mark = tally.failures.length
        tally.checks("a check failing while another process holds the lock: checked again " +
            "once it is released, only that result reported; failing with no other run: " +
            "reported at once, no lock taken (epoch unchanged)")
        const copy = join(w.home, "big-copy")
        assert.equal((await cli("a", ["activate"])).code, 0)

        await tally.check("failing with no other run", async () => {
            const epoch = readEpoch()
            rmSync(copy)
            writeFileSync(copy, "a file homeage did not write\n", { mode: 0o600 })
            const r = await cli("a", ["activate"])
            assert.equal(r.code, 1, r.stderr)
            assert.match(r.stderr, /~\/big-copy: a regular file.* is in the way/)
            assert.equal(readEpoch(), epoch, "the failing check took the lock")
            assert.equal(readFileSync(copy, "utf8"), "a file homeage did not write\n")
        })

        await tally.check("failing while another process holds the lock", async () => {
            const sleeper = spawn("sleep", ["60"])
            const lock = join(w.state, "lock")
            writeFileSync(lock, `${sleeper.pid ?? 0} stop\n`, { mode: 0o600 })
            const run = w.start("a", ["-v", "activate"])
            // As soon as the check has failed, the other run "finishes": the file in its
            // way goes, and its lock is released (its process ends).
            await new Promise<void>((resolve) => {
                let seen = ""
                run.child.stderr?.on("data", (b: Buffer) => {
                    if (seen === "done") return
                    seen += b.toString("utf8")
                    if (!seen.includes("checking again once it is done")) return
                    seen = "done"
                    rmSync(copy, { force: true })
                    sleeper.kill()
                    resolve()
                })
                run.child.on("close", () => { resolve() })
            })
            const r = await run.done
            outputs.push(r.stdout, r.stderr)
            assert.equal(r.code, 0, r.stderr)
            assert.doesNotMatch(r.stderr, /in the way/)
            assert.deepEqual(treeDifferences(endTree("a-up"), w.tree()), [])
            assert.equal(existsSync(lock), false)
        })
        assert.deepEqual(tally.failureList(mark), [])
    })

test("a lock-free read that fails runs again under the lock only if another run was around",
    async () => {
        const mark = tally.failures.length
        tally.checks("readSettled (for reads made before taking the lock): a failure with " +
            "no other run is thrown at once, no lock taken; a failure while a lock file was " +
            "there is read again holding the lock, and that result counts")
        const paths = statePaths({ HOME: w.home })
        let calls = 0
        const failFirst = (): Promise<string> => {
            calls++
            return calls === 1 ? Promise.reject(new Error("half-done")) : Promise.resolve("ok")
        }
        await tally.check("no other run", async () => {
            calls = 0
            const epoch = readEpoch()
            await assert.rejects(readSettled(paths, "rollback", failFirst), /half-done/)
            assert.equal(calls, 1)
            assert.equal(readEpoch(), epoch)
        })
        await tally.check("a lock file was there", async () => {
            calls = 0
            const epoch = readEpoch()
            const dead = spawn("true")
            await new Promise((resolve) => dead.on("close", resolve))
            writeFileSync(paths.lock, `${dead.pid ?? 0} stop\n`, { mode: 0o600 })
            assert.equal(await readSettled(paths, "rollback", failFirst), "ok")
            assert.equal(calls, 2)
            assert.notEqual(readEpoch(), epoch)
            assert.equal(existsSync(paths.lock), false)
        })
        assert.deepEqual(tally.failureList(mark), [])
    })

test("a live holder makes the run exit 1 naming it; a dead holder's lock is taken over",
    async () => {
        const mark = tally.failures.length
        tally.checks("lock held by a live process: exit 1 naming its pid and command, nothing " +
            "changed; lock of a dead process: taken over")
        const lock = join(w.state, "lock")
        const sleeper = spawn("sleep", ["60"])
        await tally.check("live holder", async () => {
            writeFileSync(lock, `${sleeper.pid ?? 0} activate\n`, { mode: 0o600 })
            const before = w.tree()
            const r = await cli("b", ["activate"])
            assert.equal(r.code, 1, r.stderr)
            assert.match(r.stderr, new RegExp(`pid ${sleeper.pid ?? 0} \\(homeage activate\\)`))
            assert.deepEqual(treeDifferences(before, w.tree()), [])
            assert.equal(readFileSync(lock, "utf8"), `${sleeper.pid ?? 0} activate\n`)
        })
        sleeper.kill()
        await new Promise((resolve) => sleeper.on("close", resolve))
        await tally.check("dead holder", async () => {
            const r = await cli("b", ["activate"])
            assert.equal(r.code, 0, r.stderr)
            assert.equal(existsSync(lock), false)
            assert.deepEqual(treeDifferences(endTree("b-up"), w.tree()), [])
        })
        assert.deepEqual(tally.failureList(mark), [])
    })

test("no plaintext or key material leaks from the concurrent runs", async () => {
    const mark = tally.failures.length
    tally.checks("leak scan after the concurrent flows: world, /tmp, $TMPDIR, all CLI output")
    await tally.check("leak scan", () => {
        assert.deepEqual(w.scanForLeaks(outputs).hits, [])
    })
    assert.deepEqual(tally.failureList(mark), [])
})
