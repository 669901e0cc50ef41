/**
 * Crash consistency (issue 7): `homeage activate` is killed with SIGKILL at
 * many points while it switches between generations A and B (see
 * switching.ts), both ways. Two kinds of kill points:
 * - every mutating step of the run (instrumented by the inject.js preload:
 *   each temp file created, half-written, synced, renamed; each symlink, rm,
 *   mkdir, chmod), so no step is skipped;
 * - random delays from the start of the process, from outside.
 * After each kill, every path under HOME and the runtime dir holds exactly
 * what the old generation or the new one has there: a path both declare is
 * never missing, empty or partial; a path only the new one declares may be
 * absent (not created yet), a path only the old one declares may be absent
 * (cleaned up already); a symlink of the new generation never dangles;
 * unmanaged files and the dotfiles keep their bytes, modes and mtimes. Then
 * one more `activate` (usually of the new config, sometimes back to the old
 * one) ends with exactly that config's tree, no temp file anywhere, no lock
 * and no pending mark.
 */
import assert from "node:assert/strict"
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, test } from "node:test"
import { setTimeout as sleep } from "node:timers/promises"

import { diffSnapshots, type Snapshot } from "../helpers/world.js"
import { Tally } from "./results.js"
import {
    makeSwitchWorld, mixedDifferences, treeDifferences, type Side, type SwitchWorld, type Tree,
} from "./switching.js"

/** Kills at instrumented steps, at least (both directions together). */
const MIN_STEP_KILLS = Number(process.env.RELIABILITY_STEP_KILLS ?? "200")

/** Kills at random delays from outside. */
const RANDOM_KILLS = 30

/** Every how many iterations the converging run goes back to the old config. */
const REVERT_EVERY = 5

const tally = new Tally("crash", 1, "kills")
const outputs: string[] = []
let w: SwitchWorld
let scratch: string
const refs = new Map<Side, Tree>()
const steps = new Map<Side, number>()
let unmanagedBefore: Snapshot
let fullRunMs = 0

const other = (side: Side): Side => (side === "a" ? "b" : "a")

async function activate(side: Side, extra?: NodeJS.ProcessEnv, inject?: boolean) {
    const r = await w.cli(side, ["activate"], extra, inject)
    outputs.push(r.stdout, r.stderr)
    return r
}

async function calibrate(side: Side): Promise<void> {
    const file = join(scratch, `steps-${side}`)
    const started = Date.now()
    const r = await activate(side, { RELIABILITY_STEPS_FILE: file }, true)
    fullRunMs = Math.max(fullRunMs, Date.now() - started)
    assert.equal(r.code, 0, r.stderr)
    steps.set(side, Number(readFileSync(file, "utf8")))
    refs.set(side, w.tree())
}

/** Removes every temp file (after a failed case, so the next case starts clean). */
function removeTemps(): void {
    for (const temp of w.temps()) rmSync(temp, { force: true })
}

before(async () => {
    w = makeSwitchWorld("crash")
    scratch = mkdtempSync(join(tmpdir(), "homeage-crash-steps-"))
    unmanagedBefore = w.unmanagedSnapshot()
    // Three plain runs first, so pruning old generations is in its steady state.
    for (const side of ["a", "b", "a"] as const) assert.equal((await activate(side)).code, 0)
    await calibrate("b")
    await calibrate("a")
})

after(() => {
    tally.save()
    w.destroy()
    rmSync(scratch, { recursive: true, force: true })
})

/** What must hold right after a kill while switching from `from` to `to`. */
function afterKill(from: Side, to: Side): void {
    const now = w.tree()
    const wrong = mixedDifferences(refs.get(from)!, refs.get(to)!, now)
    assert.deepEqual(wrong, [], "a path holds neither the old nor the new content")

    for (const [path, shape] of now) {
        if (shape.kind !== "symlink" || refs.get(to)?.get(path)?.content !== shape.content) {
            continue
        }
        const target = shape.content ?? ""
        assert.ok(existsSync(target) && statSync(target).isFile(),
            `${path} (new generation) points to ${target}, which is not there`)
    }

    for (const temp of w.temps()) {
        const mode = statSync(temp, { throwIfNoEntry: false })?.mode ?? 0
        assert.equal(mode & 0o037, 0, `leftover temp file ${temp} is readable by others`)
    }
    assert.deepEqual(diffSnapshots(unmanagedBefore, w.unmanagedSnapshot()), [],
        "an unmanaged file or a source changed")
}

/** Runs `activate` of `side` to the end and checks it gives exactly that side's tree. */
async function converge(side: Side): Promise<void> {
    const r = await activate(side)
    assert.equal(r.code, 0, `the repairing activate failed: ${r.stderr}`)
    assert.deepEqual(treeDifferences(refs.get(side)!, w.tree()), [],
        "the repairing activate did not give exactly the config's tree")
    assert.deepEqual(w.temps(), [], "temp files are left")
    assert.equal(existsSync(join(w.state, "pending")), false, "the pending mark is left")
    assert.equal(existsSync(join(w.state, "lock")), false, "the lock is left")
    assert.match(readlinkSync(join(w.state, "current")), /^generations\/\d+\.json$/)
    assert.deepEqual(diffSnapshots(unmanagedBefore, w.unmanagedSnapshot()), [])
}

/**
 * Kills an activate of `to` at instrumented step `step`. Returns the step's
 * call and path (`rename ~/…`) when it was killed there, else `undefined`.
 */
async function killAtStep(to: Side, step: number): Promise<string | undefined> {
    const trace = join(scratch, "trace")
    rmSync(trace, { force: true })
    const r = await activate(to, { RELIABILITY_KILL_AT: String(step), RELIABILITY_TRACE: trace },
        true)
    if (r.signal === "SIGKILL") {
        const last = readFileSync(trace, "utf8").trimEnd().split("\n").pop() ?? "?"
        return last.replace(/^\d+ /, "").replace(w.root, "")
    }
    assert.equal(r.code, 0, `run with kill point ${step} failed: ${r.stderr}`)
    return undefined
}

async function killAfterDelay(to: Side, delayMs: number): Promise<boolean> {
    const running = w.start(to, ["activate"])
    await sleep(delayMs)
    running.child.kill("SIGKILL")
    const r = await running.done
    outputs.push(r.stdout, r.stderr)
    if (r.signal === "SIGKILL") return true
    assert.equal(r.code, 0, r.stderr)
    return false
}

test("SIGKILL at every step of a switch leaves old or new content, and activate repairs",
    async () => {
        const mark = tally.failures.length
        tally.checks("SIGKILL at every mutating step (temp created, half written, synced, " +
            "renamed, symlink, rm, mkdir, chmod), both directions, then again during the repair")
        tally.checks("after a kill: each path holds its old or new content (never missing, " +
            "empty or partial), new symlinks resolve, unmanaged files unchanged")
        tally.checks("one more activate converges to exactly the config's tree, no temp, " +
            "no lock, no pending mark")
        let at: Side = "a"
        let kills = 0
        const points = (side: Side): number => steps.get(side) ?? 0
        const longest = Math.max(points("a"), points("b"))
        // Walk every step of both directions (twice, the second time from the other side).
        for (let i = 0; kills < MIN_STEP_KILLS && i < longest * 4; i++) {
            const to = other(at)
            const step = 1 + (i % longest)
            if (step > points(to)) continue
            const call = await killAtStep(to, step)
            if (call === undefined) continue
            kills++
            const back = i % REVERT_EVERY === 0
            const label = `${at}->${to} step ${step} (${call})${back ? ", back to old" : ""}`
            const ok = await tally.check(label, async () => {
                afterKill(at, to)
                // The repair is killed too, at another step, before the run that finishes.
                const again = await killAtStep(to, 1 + (step * 7) % points(to))
                if (again !== undefined) {
                    kills++
                    tally.ran++
                    tally.passed++
                    afterKill(at, to)
                }
                await converge(back ? at : to)
            })
            if (ok && !back) at = to
            if (!ok) {
                removeTemps()
                await converge(at).catch(() => undefined)
            }
        }
        assert.ok(kills >= MIN_STEP_KILLS, `only ${kills} kills happened`)
        assert.deepEqual(tally.failureList(mark), [])
    })

test("SIGKILL after random delays leaves old or new content, and activate repairs",
    async () => {
        const mark = tally.failures.length
        tally.checks("SIGKILL from outside after random delays (0 to 1.2 × a full run)")
        let at: Side = "a"
        await converge(at)
        let kills = 0
        for (let i = 0; i < RANDOM_KILLS * 2 && kills < RANDOM_KILLS; i++) {
            const to = other(at)
            const delay = Math.floor(Math.random() * fullRunMs * 1.2)
            if (!await killAfterDelay(to, delay)) {
                await converge(to)
                at = to
                continue
            }
            kills++
            const ok = await tally.check(`${at}->${to} after ${delay} ms`, async () => {
                afterKill(at, to)
                await converge(to)
            })
            if (ok) at = to
            else removeTemps()
        }
        assert.deepEqual(tally.failureList(mark), [])
    })

test("no plaintext or key material outside the runtime dir and copies after the crashes",
    async () => {
        const mark = tally.failures.length
        tally.checks("leak scan after the crash flows: world, /tmp, $TMPDIR, all CLI output")
        await tally.check("leak scan", () => {
            const scan = w.scanForLeaks(outputs)
            assert.ok(scan.files > 0)
            assert.deepEqual(scan.hits, [])
        })
        assert.deepEqual(tally.failureList(mark), [])
    })
