import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { runCli } from "../helpers/cli.js"
import {
    type Sandbox, ageDecrypt, ageEncrypt, ageEncryptToFiles, ageKey, makeSandbox, removeSandbox,
    writeScript,
} from "./helpers.js"

let box: Sandbox
const keys: Record<string, string> = {}
const recipients: Record<string, string> = {}

before(() => {
    box = makeSandbox("rekey")
    for (const name of ["a", "b", "c"]) {
        keys[name] = join(box.root, `${name}.txt`)
        recipients[name] = ageKey(keys[name])
    }
})

after(() => {
    removeSandbox(box)
})

/** A config folder with the given top-level recipients and identity files, and secrets. */
function project(name: string, options: {
    recipients: string[], identities: string[], secrets: Record<string, Buffer>,
}): string {
    const dir = join(box.root, name)
    mkdirSync(join(dir, "secrets"), { recursive: true })
    const lines = [
        `identityPaths = ${JSON.stringify(options.identities)}`,
        `recipients = ${JSON.stringify(options.recipients)}`,
    ]
    for (const [secret, bytes] of Object.entries(options.secrets)) {
        writeFileSync(join(dir, "secrets", `${secret}.age`), bytes)
        lines.push(`[secrets.${secret}]`, `source = "secrets/${secret}.age"`)
    }
    writeFileSync(join(dir, "homeage.toml"), lines.join("\n") + "\n")
    return dir
}

function snapshot(dir: string): Map<string, Buffer> {
    const files = new Map<string, Buffer>()
    for (const name of readdirSync(join(dir, "secrets"))) {
        files.set(name, readFileSync(join(dir, "secrets", name)))
    }
    return files
}

test("a secret no identity opens: exit 1 naming it, every .age byte-identical", async () => {
    const dir = project("missing-identity", {
        recipients: [recipients.a!, recipients.b!],
        identities: [keys.a!],
        secrets: {
            first: ageEncrypt("one\n", [recipients.a!]),
            locked: ageEncrypt("two\n", [recipients.c!]),
            last: ageEncrypt("three\n", [recipients.a!], true),
        },
    })
    const before = snapshot(dir)

    const r = await runCli(["rekey"], { cwd: dir, env: box.env })

    assert.equal(r.code, 1)
    assert.match(r.stderr, /rekey changed nothing: 1 of 3/)
    assert.match(r.stderr, /secret locked \(secrets\/locked\.age\)/)
    assert.doesNotMatch(r.stderr, /secret first/)
    assert.deepEqual(snapshot(dir), before)
})

test("rekey to a changed list: the new key decrypts, the removed one does not", async () => {
    const dir = project("changed", {
        recipients: [recipients.a!, recipients.c!],
        identities: [keys.a!],
        secrets: {
            plain: ageEncrypt("plain secret\n", [recipients.a!, recipients.b!]),
            armored: ageEncrypt("armored secret\n", [recipients.a!, recipients.b!], true),
        },
    })

    const r = await runCli(["rekey"], { cwd: dir, env: box.env })

    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /plain: re-encrypted secrets\/plain\.age to 2 recipients/)
    assert.match(r.stdout, /armored: re-encrypted secrets\/armored\.age to 2 recipients/)
    const plain = join(dir, "secrets", "plain.age")
    const armored = join(dir, "secrets", "armored.age")
    assert.equal(ageDecrypt(plain, keys.c!), "plain secret\n")
    assert.equal(ageDecrypt(plain, keys.a!), "plain secret\n")
    assert.equal(ageDecrypt(plain, keys.b!), undefined)
    assert.equal(ageDecrypt(armored, keys.c!), "armored secret\n")
    assert.equal(ageDecrypt(armored, keys.b!), undefined)
    assert.match(readFileSync(armored, "latin1"), /^-----BEGIN AGE ENCRYPTED FILE-----\n/)
    assert.deepEqual(readdirSync(join(dir, "secrets")).sort(), ["armored.age", "plain.age"])
})

test("rekey NAME touches only that secret", async () => {
    const dir = project("selected", {
        recipients: [recipients.c!],
        identities: [keys.a!],
        secrets: {
            chosen: ageEncrypt("chosen\n", [recipients.a!]),
            other: ageEncrypt("other\n", [recipients.a!]),
        },
    })
    const before = snapshot(dir)

    const r = await runCli(["rekey", "chosen"], { cwd: dir, env: box.env })

    assert.equal(r.code, 0, r.stderr)
    assert.equal(ageDecrypt(join(dir, "secrets", "chosen.age"), keys.c!), "chosen\n")
    assert.deepEqual(readFileSync(join(dir, "secrets", "other.age")), before.get("other.age"))
})

test("--dry-run lists what would change and changes nothing", async () => {
    const dir = project("dry-run", {
        recipients: [recipients.a!, recipients.b!, recipients.c!],
        identities: [keys.a!],
        secrets: { token: ageEncrypt("t\n", [recipients.a!]) },
    })
    const before = snapshot(dir)

    const r = await runCli(["rekey", "--dry-run"], { cwd: dir, env: box.env })

    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /token: would re-encrypt secrets\/token\.age to 3 recipients/)
    assert.match(r.stdout, /encrypted to 1 X25519 recipient but token declares 3/)
    assert.match(r.stdout, /nothing written/)
    assert.deepEqual(snapshot(dir), before)
})

test("an unknown secret name is a usage error, exit 2", async () => {
    const dir = project("unknown", {
        recipients: [recipients.a!],
        identities: [keys.a!],
        secrets: { token: ageEncrypt("t\n", [recipients.a!]) },
    })
    const before = snapshot(dir)

    const r = await runCli(["rekey", "nope"], { cwd: dir, env: box.env })

    assert.equal(r.code, 2)
    assert.match(r.stderr, /no secret named nope \(declared: token\)/)
    assert.deepEqual(snapshot(dir), before)
})

test("a passphrase-protected SSH identity is asked for once for the whole run", async () => {
    const sshKey = join(box.root, "id_protected")
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "correct horse", "-C", "",
        "-f", sshKey])
    const asked = join(box.root, "asked.log")
    const askpass = writeScript(join(box.root, "askpass.sh"),
        `echo asked >> ${JSON.stringify(asked)}\necho 'correct horse'`)
    const dir = project("passphrase", {
        recipients: [recipients.a!],
        identities: [sshKey],
        secrets: {
            one: ageEncryptToFiles("one\n", [`${sshKey}.pub`]),
            two: ageEncryptToFiles("two\n", [`${sshKey}.pub`]),
            three: ageEncryptToFiles("three\n", [`${sshKey}.pub`]),
        },
    })

    const r = await runCli(["rekey"], { cwd: dir, env: { ...box.env, HOMEAGE_ASKPASS: askpass } })

    assert.equal(r.code, 0, r.stderr)
    assert.equal(readFileSync(asked, "utf8"), "asked\n")
    for (const name of ["one", "two", "three"]) {
        assert.equal(ageDecrypt(join(dir, "secrets", `${name}.age`), keys.a!), `${name}\n`)
    }
})
