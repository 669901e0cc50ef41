/**
 * Passphrases: HOMEAGE_ASKPASS (prompt as argument, trailing newline
 * stripped), no blocking without a terminal, and the terminal prompt itself,
 * driven through a pseudo-terminal.
 */
import assert from "node:assert/strict"
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { after, test } from "node:test"

import { OperationError } from "../../src/errors.js"
import { ASKPASS_TIMEOUT_MS, AskpassError, readPassphrase } from "../../src/age/index.js"
import { askpass } from "../../src/age/passphrase.js"
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

test("a failing or missing HOMEAGE_ASKPASS is an AskpassError naming the program", async () => {
    const failing = script("fail.sh", "echo secret; exit 1")
    await assert.rejects(withAskpass(failing, () => readPassphrase("p")), (err) => {
        assert.ok(err instanceof AskpassError)
        assert.ok(err instanceof OperationError)
        assert.equal(err.message, `HOMEAGE_ASKPASS program ${failing} failed with exit status 1;`
            + " fix the program or unset HOMEAGE_ASKPASS")
        assert.ok(!err.message.includes("secret"), "what it printed is never shown")
        return true
    })
    const absent = join(dir, "absent")
    await assert.rejects(withAskpass(absent, () => readPassphrase("p")), (err) => {
        assert.ok(err instanceof AskpassError)
        assert.match(err.message, new RegExp(`^cannot run HOMEAGE_ASKPASS program ${absent}: `))
        return true
    })
})

test("HOMEAGE_ASKPASS killed by a signal, printing nothing or too much: AskpassError saying so",
    async () => {
        const cases: [string, string, string][] = [
            ["signal.sh", "kill -TERM $$", "was killed by signal SIGTERM"],
            ["empty.sh", "printf '\\n'", "returned an empty passphrase"],
            ["silent.sh", "true", "returned an empty passphrase"],
            ["long.sh", "head -c 70000 /dev/zero | tr '\\0' a",
                "printed more than 64 KiB, too long for a passphrase"],
        ]
        for (const [name, body, gist] of cases) {
            const program = script(name, body)
            await assert.rejects(withAskpass(program, () => readPassphrase("p")), (err) => {
                assert.ok(err instanceof AskpassError, name)
                assert.equal(err.detail, `HOMEAGE_ASKPASS program ${program} ${gist}`)
                return true
            })
        }
    })

test("a HOMEAGE_ASKPASS that never answers is killed once the timeout passes", async () => {
    assert.equal(ASKPASS_TIMEOUT_MS, 5 * 60 * 1000, "generous: the user may be typing")
    const pidFile = join(dir, "hung.pid")
    const program = script("hung.sh", `echo $$ > '${pidFile}'; exec sleep 600`)

    await assert.rejects(askpass(program, "p", 300), (err) => {
        assert.ok(err instanceof AskpassError)
        assert.equal(err.message, `HOMEAGE_ASKPASS program ${program} gave no passphrase within`
            + " 300 ms and was stopped; fix the program or unset HOMEAGE_ASKPASS")
        return true
    })
    const pid = readFileSync(pidFile, "utf8").trim()
    assert.equal(await gone(pid), true, "the askpass program was killed")
})

/** Waits until process `pid` has ended (gone, or a zombie); false if it is still running. */
async function gone(pid: string): Promise<boolean> {
    const stat = `/proc/${pid}/stat`
    for (let i = 0; i < 500; i++) {
        if (!existsSync(stat)) return true
        if (/^\d+ \(.*\) Z/.test(readFileSync(stat, "utf8"))) return true
        await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return false
}

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
    assert.match(mismatch.stdout.toString(), /rc=1/, "a mismatch is a failed operation, not usage")
    assert.equal(existsSync(join(dir, "no.age")), false)
})

test("decrypting a passphrase file with no terminal and no askpass fails, never blocks",
    async () => {
        const r = await homeage(["decrypt", join(dir, "tty.age")], { env: { HOMEAGE_ASKPASS: "" } })
        assert.equal(r.code, 1)
        assert.match(r.stderr, /no terminal to ask for it; set HOMEAGE_ASKPASS/)
        assert.equal(r.stdout.length, 0)
    })
