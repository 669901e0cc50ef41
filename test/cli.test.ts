import assert from "node:assert/strict"
import { test } from "node:test"

import { runCli } from "./helpers/cli.js"

test("--help lists the commands and exits 0", async () => {
    const r = await runCli(["--help"])
    assert.equal(r.code, 0)
    assert.match(r.stdout, /activate/)
})

test("an unknown command is a usage error, exit 2", async () => {
    const r = await runCli(["no-such-command"])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /unknown command/)
})

test("--version prints the package version", async () => {
    const r = await runCli(["--version"])
    assert.equal(r.code, 0)
    assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/)
})

test("an unknown option of a command points to that command's help, exit 2", async () => {
    const r = await runCli(["status", "--bogus"])
    assert.equal(r.code, 2)
    assert.equal(r.stderr, "homeage: error: unknown option '--bogus'\n" +
        "(homeage status --help lists its options)\n")
})
