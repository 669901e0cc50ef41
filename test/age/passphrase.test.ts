/**
 * Passphrases: HOMEAGE_ASKPASS (prompt as argument, trailing newline
 * stripped), no blocking without a terminal, and the terminal prompt itself,
 * driven through a pseudo-terminal.
 */
import assert from "node:assert/strict"
import { chmodSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { after, test } from "node:test"

import { OperationError } from "../../src/errors.js"
import { readPassphrase } from "../../src/age/index.js"
import { CLI } from "../helpers/cli.js"
import { homeage, inTerminal, run, tempFolder } from "./helpers.js"

const work = tempFolder("passphrase")
const dir = work.dir
after(() => {
    work.remove()
})

function script(name: string, body: string): string {
    const path = join(dir, name)
    writeFileSync(path, `#!/bin/sh\n${body}\n`)
    chmodSync(path, 0o755)
    return path
}

async function withAskpass<T>(program: string, body: () => Promise<T>): Promise<T> {
    const saved = process.env.HOMEAGE_ASKPASS
    process.env.HOMEAGE_ASKPASS = program
    try {
        return await body()
    } finally {
        if (saved === undefined) delete process.env.HOMEAGE_ASKPASS
        else process.env.HOMEAGE_ASKPASS = saved
    }
}

test("HOMEAGE_ASKPASS gets the prompt as its argument; one trailing newline is stripped",
    async () => {
        const log = join(dir, "prompt.log")
        const program = script("ask.sh", `printf '%s' "$1" > '${log}'; printf 'a b \\n\\n'`)
        const answer = await withAskpass(program, () => readPassphrase("Enter it: "))
        assert.equal(answer, "a b \n")
        assert.equal(readFileSync(log, "utf8"), "Enter it: ")
    })

test("a failing HOMEAGE_ASKPASS means no passphrase; a missing one is an error", async () => {
    const failing = script("fail.sh", "echo secret; exit 1")
    assert.equal(await withAskpass(failing, () => readPassphrase("p")), undefined)
    await assert.rejects(withAskpass(join(dir, "absent"), () => readPassphrase("p")),
        OperationError)
})

test("without askpass or terminal the answer is undefined at once", async () => {
    const module = new URL("../../src/age/passphrase.js", import.meta.url).href
    const code = `const { readPassphrase } = await import(${JSON.stringify(module)});`
        + "console.log(JSON.stringify(await readPassphrase('p: ')) ?? 'undefined')"
    const r = await run(process.execPath, ["--input-type=module", "-e", code],
        { env: { HOMEAGE_ASKPASS: "" } })
    assert.equal(r.code, 0, r.stderr)
    assert.equal(r.stdout.toString(), "undefined\n")
})

test("the terminal prompt: encrypt -p asks twice, decrypt asks once", async () => {
    const plain = join(dir, "plain.txt")
    writeFileSync(plain, "typed at a terminal\n")
    const sealed = join(dir, "tty.age")
    const cli = `${process.execPath} ${CLI}`
    const env = "HOMEAGE_ASKPASS= "

    await inTerminal(`${env}${cli} encrypt -p -o ${sealed} ${plain}`, "pw1\npw1\n", dir)
    const header = readFileSync(sealed, "latin1")
    assert.match(header, /^age-encryption\.org\/v1\n-> scrypt /)

    const out = join(dir, "tty.out")
    const r = await inTerminal(`${env}${cli} decrypt -o ${out} ${sealed}`, "pw1\n", dir)
    assert.match(r.stdout.toString(), /Enter passphrase for .*tty\.age: /)
    assert.equal(readFileSync(out, "utf8"), "typed at a terminal\n")

    const mismatch = await inTerminal(
        `${env}${cli} encrypt -p -o ${join(dir, "no.age")} ${plain}; echo "rc=$?"`,
        "pw1\npw2\n", dir)
    assert.match(mismatch.stdout.toString(), /passphrases don't match/)
    assert.match(mismatch.stdout.toString(), /rc=2/)
})

test("decrypting a passphrase file with no terminal and no askpass fails, never blocks",
    async () => {
        const r = await homeage(["decrypt", join(dir, "tty.age")], { env: { HOMEAGE_ASKPASS: "" } })
        assert.equal(r.code, 1)
        assert.match(r.stderr, /no terminal to ask for it; set HOMEAGE_ASKPASS/)
        assert.equal(r.stdout.length, 0)
    })
