/**
 * Regression tests for what the reliability suites found, one per finding,
 * each small and deterministic:
 * - an OpenSSH key whose bcrypt round count is huge is refused at once
 *   (fuzzing: the count comes from the file and the derivation is
 *   synchronous, so a damaged count froze the process for days);
 * - a crash while a manifest or a store file is written leaves no temp file
 *   in the state dir once activate runs again (crash suite);
 * - a crash just before the `pending` mark is removed leaves no mark once
 *   activate runs again (crash suite);
 * - two switches stopped in a row: the files the first one wrote still count
 *   as homeage's own, so the next activate replaces them.
 */
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { identitiesFromBytes } from "../../src/age/index.js"
import { UsageError } from "../../src/errors.js"
import { makeSwitchWorld, type SwitchWorld } from "./switching.js"

/** A round count no key should ask for (2^31). */
const HUGE_ROUNDS = 0x80000000

let dir: string
let w: SwitchWorld

before(() => {
    dir = mkdtempSync(join(tmpdir(), "homeage-regressions-"))
    w = makeSwitchWorld("regressions")
})

after(() => {
    rmSync(dir, { recursive: true, force: true })
    w.destroy()
})

/** Rewrites the bcrypt round count of an OpenSSH key file. */
function withRounds(text: string, rounds: number): string {
    const lines = text.trim().split("\n")
    const body = Buffer.from(lines.slice(1, -1).join(""), "base64")
    const kdf = body.indexOf("bcrypt")
    // "bcrypt", then the options string: uint32 length, salt string (uint32 + 16 bytes), rounds.
    const salt = kdf + "bcrypt".length + 4
    const saltLength = body.readUInt32BE(salt)
    body.writeUInt32BE(rounds, salt + 4 + saltLength)
    const base64 = body.toString("base64").match(/.{1,70}/g) ?? []
    return [lines[0], ...base64, lines[lines.length - 1], ""].join("\n")
}

test("an OpenSSH key asking for 2^31 bcrypt rounds is refused without deriving", () => {
    const key = join(dir, "id_ed25519")
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-a", "4", "-N", "pass", "-f", key])
    const text = withRounds(readFileSync(key, "utf8"), HUGE_ROUNDS)
    assert.throws(() => identitiesFromBytes(Buffer.from(text), key, {
        warn: () => undefined, passphrase: () => Promise.resolve("pass"),
    }), (err) => err instanceof UsageError && err.message.includes("2147483648 bcrypt rounds"))
})

test("a crash while writing the state leaves no temp file there after the next activate",
    async () => {
        for (const side of ["a", "b"] as const) {
            assert.equal((await w.cli(side, ["activate"])).code, 0)
        }
        const trace = join(dir, "trace")
        const traced = await w.cli("a", ["activate"], { RELIABILITY_TRACE: trace }, true)
        assert.equal(traced.code, 0, traced.stderr)
        const lines = readFileSync(trace, "utf8").split("\n")
        const manifestWrite = lines.find((l) => /^\d+ write .*\/generations\/\.homeage-tmp-/
            .test(l))
        assert.ok(manifestWrite !== undefined, "no manifest written in a traced run")

        const step = manifestWrite.split(" ")[0] ?? "0"
        const killed = await w.cli("b", ["activate"], { RELIABILITY_KILL_AT: step }, true)
        assert.equal(killed.signal, "SIGKILL")
        assert.notDeepEqual(w.temps(), [], "the kill left no temp file to clean up")

        const r = await w.cli("b", ["activate"])
        assert.equal(r.code, 0, r.stderr)
        assert.deepEqual(w.temps(), [])
    })

test("a crash just before the pending mark is removed leaves no mark after the next activate",
    async () => {
        // Enough runs first that pruning old generations is in its steady state.
        for (const side of ["a", "b", "a"] as const) {
            assert.equal((await w.cli(side, ["activate"])).code, 0)
        }
        const trace = join(dir, "trace-pending")
        const traced = await w.cli("b", ["activate"], { RELIABILITY_TRACE: trace }, true)
        assert.equal(traced.code, 0, traced.stderr)
        assert.equal((await w.cli("a", ["activate"])).code, 0)
        const removal = readFileSync(trace, "utf8").split("\n")
            .find((l) => /^\d+ rm .*\/pending$/.test(l))
        assert.ok(removal !== undefined, "the pending mark is not removed by rm in a traced run")

        const step = removal.split(" ")[0] ?? "0"
        const killed = await w.cli("b", ["activate"], { RELIABILITY_KILL_AT: step }, true)
        assert.equal(killed.signal, "SIGKILL")
        assert.ok(existsSync(join(w.state, "pending")))

        const r = await w.cli("b", ["activate"])
        assert.equal(r.code, 0, r.stderr)
        assert.equal(existsSync(join(w.state, "pending")), false, "the pending mark is left")
    })

test("two switches stopped in a row: the next activate replaces what the first one wrote",
    async () => {
        const file = join(w.run, "secrets", "change")
        const source = join(w.dotfiles, "secrets", "change-b.age")
        const original = readFileSync(source)
        assert.equal((await w.cli("a", ["activate"])).code, 0)

        // A switch to b, killed right after it put change's new plaintext in place.
        const first = await w.cli("b", ["activate"], { RELIABILITY_KILL_AFTER: file }, true)
        assert.equal(first.signal, "SIGKILL")
        assert.equal(readFileSync(file, "utf8"), w.plaintexts.get("change-b"))

        // Then a switch to new content, killed as soon as its pending mark is set.
        const recipient = execFileSync("age-keygen", ["-y", w.identity], { encoding: "utf8" })
        const third = "token-of-a-third-switch\n"
        writeFileSync(source, execFileSync("age", ["-r", recipient.trim()], { input: third }))
        try {
            const second = await w.cli("b", ["activate"],
                { RELIABILITY_KILL_AFTER: join(w.state, "pending") }, true)
            assert.equal(second.signal, "SIGKILL")
            assert.equal(readFileSync(file, "utf8"), w.plaintexts.get("change-b"))

            const r = await w.cli("b", ["activate"])
            assert.equal(r.code, 0, r.stderr)
            assert.equal(readFileSync(file, "utf8"), third)
        } finally {
            writeFileSync(source, original)
        }
        assert.equal((await w.cli("a", ["activate"])).code, 0, "back to a")
    })

test("a first switch stopped after its pending mark: status says to finish it with activate",
    async () => {
        assert.equal((await w.cli("a", ["deactivate"])).code, 0)
        const killed = await w.cli("a", ["activate"],
            { RELIABILITY_KILL_AFTER: join(w.state, "pending") }, true)
        assert.equal(killed.signal, "SIGKILL")

        const status = await w.cli("a", ["status"])
        assert.equal(status.code, 1)
        assert.match(status.stderr, new RegExp("no generation is current yet: the switch to " +
            "generation \\d+ did not finish; run homeage activate to finish it"))
        assert.equal((await w.cli("a", ["activate"])).code, 0)
        assert.equal((await w.cli("a", ["status"])).code, 0)
    })
