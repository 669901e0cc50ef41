/**
 * Hostile environment (issue 7). Starting from generation A activated, an
 * activation of B meets: a symlink planted at the exact name of each temp file
 * homeage creates (injected by the inject.js preload just before the create,
 * an attacker who won the race; names themselves are shown unguessable); a
 * runtime dir that is a symlink owned by another user, or a folder owned by
 * one, or reached through such a symlink; a target folder replaced by a
 * symlink between the check and the switch; a full tmpfs mid-write; SIGTERM
 * and SIGINT while the large secret is written. Each time: nothing outside
 * homeage's own paths is created or changed (a victim file and an attacker
 * folder are watched), no temp file of homeage stays, every path holds its old
 * or its new content, the exit status is not 0 where the run could not finish,
 * and a plain activate afterwards gives exactly B.
 */
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import {
    existsSync, lchownSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statfsSync,
    symlinkSync, writeFileSync, chownSync,
} from "node:fs"
import { join } from "node:path"
import { after, before, beforeEach, test } from "node:test"

import { tempPathFor } from "../../src/fs/atomic.js"
import { diffSnapshots, snapshotOf, type Snapshot } from "../helpers/world.js"
import type { Finished } from "./proc.js"
import { Tally } from "./results.js"
import {
    makeSwitchWorld, mixedDifferences, treeDifferences, type SwitchWorld, type Tree,
} from "./switching.js"

/** A uid no account on the test machine has (the "other user"). */
const OTHER_UID = 4242

/** Space left on the runtime tmpfs for the full-disk case (bytes: 64 KiB). */
const ENOSPC_SLACK = 64 * 1024

/** Temp names sampled to show they are unique and unguessable. */
const NAME_SAMPLES = 2000

const tally = new Tally("hostile", 3, "cases")
const outputs: string[] = []
let w: SwitchWorld
let outside: string
let victim: string
let attacker: string
let outsideBefore: Snapshot
let unmanagedBefore: Snapshot
const refs = new Map<string, Tree>()

async function activate(side: "a" | "b", extra?: NodeJS.ProcessEnv, inject?: boolean,
    args: string[] = []): Promise<Finished> {
    const r = await w.cli(side, ["activate", ...args], extra, inject)
    outputs.push(r.stdout, r.stderr)
    return r
}

before(async () => {
    w = makeSwitchWorld("hostile")
    outside = join(w.root, "outside")
    attacker = join(outside, "attacker-dir")
    victim = join(outside, "victim.txt")
    mkdirSync(attacker, { recursive: true })
    writeFileSync(victim, "the victim's own bytes\n", { mode: 0o644 })
    outsideBefore = snapshotOf([outside])
    unmanagedBefore = w.unmanagedSnapshot()
    for (const side of ["b", "a"] as const) {
        const r = await activate(side)
        assert.equal(r.code, 0, r.stderr)
        refs.set(side, w.tree())
    }
})

after(() => {
    tally.save()
    w.destroy()
})

beforeEach(async () => {
    // Every case starts from A, activated cleanly.
    const r = await activate("a")
    assert.equal(r.code, 0, r.stderr)
})

/** What must hold after a hostile run: nothing outside touched, old-or-new, no temp left. */
function assertContained(what: string): void {
    assert.deepEqual(diffSnapshots(outsideBefore, snapshotOf([outside])), [],
        `${what}: something outside homeage's paths changed`)
    assert.deepEqual(diffSnapshots(unmanagedBefore, w.unmanagedSnapshot()), [],
        `${what}: an unmanaged file or a source changed`)
    assert.deepEqual(mixedDifferences(refs.get("a")!, refs.get("b")!, w.tree()), [],
        `${what}: a path holds neither its old nor its new content`)
}

function assertNoTemps(what: string, planted: string[] = []): void {
    const temps = w.temps().filter((p) => !planted.includes(p))
    assert.deepEqual(temps, [], `${what}: temp files are left`)
}

async function assertRepairs(what: string): Promise<void> {
    const r = await activate("b")
    assert.equal(r.code, 0, `${what}: the activate afterwards failed: ${r.stderr}`)
    assert.deepEqual(treeDifferences(refs.get("b")!, w.tree()), [], `${what}: not exactly B`)
    assertNoTemps(`${what}, after a plain activate`)
}

test("temp names are unique, unguessable, and never reuse a planted path", async () => {
    const mark = tally.failures.length
    tally.checks(`${NAME_SAMPLES} temp names: 128 random bits each, all distinct`)
    await tally.check("temp names", () => {
        const names = new Set<string>()
        for (let i = 0; i < NAME_SAMPLES; i++) {
            const path = tempPathFor("/x/y/target")
            assert.match(path, /^\/x\/y\/\.homeage-tmp-[0-9a-f]{32}$/)
            names.add(path)
        }
        assert.equal(names.size, NAME_SAMPLES)
    })
    assert.deepEqual(tally.failureList(mark), [])
})

test("a symlink planted at each temp name just before it is created is refused", async () => {
    const mark = tally.failures.length
    tally.checks("a symlink planted at the exact name of every temp file and temp symlink " +
        "of an activation (to a victim file, and dangling): refused, victim unchanged, " +
        "nothing created through it")
    // Which temp names does a run create? Count them in a traced run.
    const trace = join(w.root, "trace")
    const counted = await activate("b", { RELIABILITY_TRACE: trace }, true)
    assert.equal(counted.code, 0, counted.stderr)
    const temps = readFileSync(trace, "utf8").split("\n")
        .filter((l) => /^\d+ (open|symlink) .*\/\.homeage-tmp-/.test(l))
    rmSync(trace)
    assert.ok(temps.length > 10, `only ${temps.length} temp files in a run`)

    for (const [i, line] of temps.entries()) {
        for (const target of [victim, join(attacker, `created-${i}`)]) {
            await activate("a")
            const log = join(w.root, "plant-log")
            rmSync(log, { force: true })
            const what = `temp #${i + 1} (${line.replace(/^\d+ /, "").replace(w.root, "")}) -> ` +
                (target === victim ? "victim" : "dangling")
            await tally.check(what, async () => {
                const r = await activate("b", {
                    RELIABILITY_PLANT: target, RELIABILITY_PLANT_AT: String(i + 1),
                    RELIABILITY_LOG: log,
                }, true)
                const planted = existsSync(log) ? readFileSync(log, "utf8").split("\n")
                    .filter((l) => l.startsWith("planted ")).map((l) => l.slice(8)) : []
                assert.equal(planted.length, 1, `${what}: nothing was planted`)
                assert.equal(r.signal, null, `${what}: ended by a signal`)
                assertContained(what)
                assertNoTemps(what, planted)
                for (const path of planted) rmSync(path, { force: true })
                await assertRepairs(what)
            })
        }
    }
    assert.deepEqual(tally.failureList(mark), [])
})

test("a runtime dir that is or passes through another user's symlink or folder is refused",
    async () => {
        const mark = tally.failures.length
        tally.checks("runtime dir: a symlink owned by another user, a folder owned by another " +
            "user, a parent symlink owned by another user: exit 1, nothing written")
        const elsewhere = join(outside, "elsewhere")
        const cases: [string, () => void, string, NodeJS.ProcessEnv][] = [
            ["runtime dir is another user's symlink", () => {
                mkdirSync(elsewhere, { recursive: true, mode: 0o700 })
                renameSync(join(w.run, "secrets"), join(w.run, "secrets.real"))
                symlinkSync(elsewhere, join(w.run, "secrets"))
                lchownSync(join(w.run, "secrets"), OTHER_UID, OTHER_UID)
            }, "secrets", {}],
            ["runtime dir is another user's folder", () => {
                chownSync(join(w.run, "secrets"), OTHER_UID, OTHER_UID)
            }, "secrets", {}],
            ["runtime dir is reached through another user's symlink", () => {
                symlinkSync(w.run, join(outside, "run-link"))
                lchownSync(join(outside, "run-link"), OTHER_UID, OTHER_UID)
            }, "run-link", { XDG_RUNTIME_DIR: join(outside, "run-link") }],
        ]
        for (const [what, arrange, cleanupName, extra] of cases) {
            await activate("a")
            const watched = [join(w.run, "secrets"), w.state]
            const before = snapshotOf(watched)
            arrange()
            await tally.check(what, async () => {
                const r = await activate("b", extra)
                assert.equal(r.code, 1, `${what}: exit ${r.code}: ${r.stderr}`)
                assert.match(r.stderr, new RegExp(`owned by uid ${OTHER_UID}`))
                assert.deepEqual(existsSync(elsewhere) ? readdirSync(elsewhere) : [], [])
            })
            // Put things back.
            if (cleanupName === "secrets" && existsSync(join(w.run, "secrets.real"))) {
                rmSync(join(w.run, "secrets"))
                renameSync(join(w.run, "secrets.real"), join(w.run, "secrets"))
            }
            chownSync(join(w.run, "secrets"), 0, 0)
            rmSync(join(outside, "run-link"), { force: true })
            rmSync(elsewhere, { recursive: true, force: true })
            await tally.check(`${what}: nothing changed`, () => {
                assert.deepEqual(diffSnapshots(before, snapshotOf(watched))
                    .filter((l) => !l.endsWith("/lock")), [])
            })
        }
        outsideBefore = snapshotOf([outside])
        assert.deepEqual(tally.failureList(mark), [])
    })

test("a target folder replaced by a symlink between check and switch gets no plaintext",
    async () => {
        const mark = tally.failures.length
        tally.checks("target folder swapped for a symlink to an attacker's folder after the " +
            "check: nothing written there, old content survives")
        const folder = join(w.home, ".local", "share", "app")
        const what = "~/.local/share/app swapped after the check"
        await tally.check(what, async () => {
            const log = join(w.root, "swap-log")
            const r = await activate("b", {
                RELIABILITY_SWAP: `${folder}>${attacker}`, RELIABILITY_LOG: log,
            }, true)
            assert.match(readFileSync(log, "utf8"), /swapped/)
            const found = readdirSync(attacker)
            // Put the folder back before asserting, so later cases start clean.
            rmSync(folder)
            renameSync(`${folder}.moved-away`, folder)
            for (const name of found) rmSync(join(attacker, name), { force: true })
            // The copy of the generation before is no longer recognized: start again clean.
            rmSync(join(folder, "token"), { force: true })
            assert.deepEqual(found, [], `${what}: files were written into the attacker's folder`)
            assert.notEqual(r.code, 0, `${what}: activate reported success`)
        })
        outsideBefore = snapshotOf([outside])
        assert.deepEqual(tally.failureList(mark), [])
    })

test("a full runtime tmpfs fails the activation and keeps the old content", async () => {
    const mark = tally.failures.length
    tally.checks("tmpfs full (ENOSPC) while the large secret is written: exit 1, old content " +
        "kept, temp removed")
    const filler = join(w.run, "filler")
    await tally.check("ENOSPC", async () => {
        const free = statfsSync(w.run).bavail * statfsSync(w.run).bsize
        execFileSync("fallocate", ["-l", String(Math.max(free - ENOSPC_SLACK, 0)), filler])
        const r = await activate("b")
        rmSync(filler)
        assert.equal(r.code, 1, `exit ${r.code}: ${r.stderr}`)
        assert.match(r.stderr, /ENOSPC|no space/i)
        assert.equal(readFileSync(join(w.run, "secrets", "big"), "utf8"), w.plaintexts.get("big-a"))
        assertContained("ENOSPC")
        assertNoTemps("ENOSPC")
        await assertRepairs("ENOSPC")
    })
    rmSync(filler, { force: true })
    assert.deepEqual(tally.failureList(mark), [])
})

for (const signal of ["SIGTERM", "SIGINT"] as const) {
    test(`${signal} while the large secret is written leaves no temp and the old content`,
        async () => {
            const mark = tally.failures.length
            tally.checks("SIGTERM and SIGINT while the large secret is written (activate, " +
                "decrypt -o): non-zero exit, temp removed, old content kept")
            await tally.check(`activate, ${signal}`, async () => {
                const log = join(w.root, "signal-log")
                const r = await activate("b", {
                    RELIABILITY_SIGNAL: signal, RELIABILITY_SIGNAL_BYTES: "100000",
                    RELIABILITY_LOG: log,
                }, true)
                assert.match(readFileSync(log, "utf8"), /signal/)
                assert.ok(r.code !== 0, `activate exited 0 after ${signal}`)
                assertContained(`activate, ${signal}`)
                assertNoTemps(`activate, ${signal}`)
            })
            for (const temp of w.temps()) rmSync(temp, { force: true })

            await tally.check(`decrypt -o, ${signal}`, async () => {
                const out = join(w.run, "decrypted")
                const log = join(w.root, "signal-log-decrypt")
                writeFileSync(out, "old output\n", { mode: 0o600 })
                const r = await w.cli("a", ["decrypt", "-i", w.identity, "-o", out,
                    join(w.dotfiles, "secrets", "big-b.age")], {
                    RELIABILITY_SIGNAL: signal, RELIABILITY_SIGNAL_BYTES: "30000",
                    RELIABILITY_LOG: log,
                }, true)
                outputs.push(r.stdout, r.stderr)
                assert.ok(r.code !== 0, `decrypt exited 0 after ${signal}`)
                assert.match(readFileSync(log, "utf8"), /signal/)
                assert.equal(readFileSync(out, "utf8"), "old output\n")
                rmSync(out)
                assertNoTemps(`decrypt -o, ${signal}`)
            })
            for (const temp of w.temps()) rmSync(temp, { force: true })
            assert.deepEqual(tally.failureList(mark), [])
        })
}

test("no plaintext or key material leaks from the hostile flows", async () => {
    const mark = tally.failures.length
    tally.checks("leak scan after the hostile flows: world, /tmp, $TMPDIR, all CLI output")
    await tally.check("leak scan", () => {
        const scan = w.scanForLeaks(outputs)
        assert.deepEqual(scan.hits, [])
    })
    assert.deepEqual(tally.failureList(mark), [])
})
