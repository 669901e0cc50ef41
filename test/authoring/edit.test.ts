import assert from "node:assert/strict"
import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, beforeEach, test } from "node:test"

import { runCli } from "../helpers/cli.js"
import {
    type Sandbox, ageDecrypt, ageEncrypt, ageKey, entries, filesContaining, makeSandbox,
    mountRuntime, removeSandbox, runInTerminal, writeScript,
} from "./helpers.js"

// A nonce per run, so that a scan never sees another run's plaintext (the suite
// may run twice at once on one machine, each with its runtime dir under /tmp).
const NONCE = randomBytes(8).toString("hex")
const OLD = `token=alpha-${NONCE}\n`
const NEW = `token=bravo-${NONCE}\n`
const PIPED = `token=charlie-${NONCE}\n`

let box: Sandbox
let project: string
let source: string
let keyA: string
let keyB: string
let recipientA: string
let recipientB: string
let original: Buffer

before(() => {
    box = makeSandbox("edit")
    mountRuntime(box)
    project = join(box.root, "dotfiles")
    mkdirSync(join(project, "secrets"), { recursive: true })
    keyA = join(box.root, "a.txt")
    keyB = join(box.root, "b.txt")
    recipientA = ageKey(keyA)
    recipientB = ageKey(keyB)
    source = join(project, "secrets", "token.age")
    writeFileSync(join(project, "homeage.toml"), [
        `identityPaths = [${JSON.stringify(keyA)}]`,
        `recipients = [${JSON.stringify(recipientA)}, ${JSON.stringify(recipientB)}]`,
        "[secrets.token]",
        "source = \"secrets/token.age\"",
        "",
    ].join("\n"))
})

after(() => {
    removeSandbox(box)
})

beforeEach(() => {
    original = ageEncrypt(OLD, [recipientA, recipientB])
    writeFileSync(source, original)
})

/** Asserts no plaintext (old, new or piped) is left in any place it must never stay. */
function assertNoPlaintextLeft(): void {
    const places = [box.runtime, tmpdir(), box.stateHome, join(project, "secrets"), project]
    assert.deepEqual(filesContaining(places, [OLD, NEW, PIPED]), [])
    assert.deepEqual(entries(box.runtime).filter((e) => e.startsWith("homeage-edit-")), [])
}

function editWith(script: string, extraEnv: NodeJS.ProcessEnv = {}) {
    const editor = writeScript(join(box.root, "editor.sh"), script)
    return runInTerminal(["edit", "token"],
        { cwd: project, env: { ...box.env, EDITOR: editor, VISUAL: "", ...extraEnv } })
}

test("an editor that changes the file: re-encrypted to both recipients, nothing left", async () => {
    const seen = join(box.root, "seen.txt")
    const r = await editWith([
        `stat -c '%a %n' "$(dirname "$1")" "$1" > ${JSON.stringify(seen)}`,
        "sed -i 's/alpha/bravo/' \"$1\"",
    ].join("\n"))

    assert.equal(r.code, 0, r.stdout)
    assert.match(r.stdout, /secret token \(secrets\/token\.age\): changed, re-encrypted to 2/)
    assert.notDeepEqual(readFileSync(source), original)
    assert.equal(ageDecrypt(source, keyA), NEW)
    assert.equal(ageDecrypt(source, keyB), NEW)

    const [folderLine = "", fileLine = ""] = readFileSync(seen, "utf8").trim().split("\n")
    assert.match(folderLine, new RegExp(`^700 ${box.runtime}/homeage-edit-[^/]+$`))
    assert.match(fileLine, new RegExp(`^600 ${box.runtime}/homeage-edit-[^/]+/token$`))
    assertNoPlaintextLeft()
})

test("an editor that leaves the content as it was: the .age is byte-identical", async () => {
    const r = await editWith("touch \"$1\"")

    assert.equal(r.code, 0, r.stdout)
    assert.match(r.stdout, /unchanged, nothing written/)
    assert.deepEqual(readFileSync(source), original)
    assertNoPlaintextLeft()
})

test("an editor that fails after changing the file: exit 1, the .age unchanged", async () => {
    const r = await editWith("sed -i 's/alpha/bravo/' \"$1\"\nexit 3")

    assert.equal(r.code, 1)
    assert.match(r.stdout, /exited with status 3.*secrets\/token\.age is unchanged/)
    assert.deepEqual(readFileSync(source), original)
    assertNoPlaintextLeft()
})

test("an editor killed by SIGKILL: exit 1, the .age unchanged", async () => {
    const r = await editWith("sed -i 's/alpha/bravo/' \"$1\"\nkill -KILL $$")

    assert.equal(r.code, 1)
    assert.match(r.stdout, /killed by SIGKILL/)
    assert.deepEqual(readFileSync(source), original)
    assertNoPlaintextLeft()
})

test("SIGTERM to homeage while the editor runs: exit 1, the .age unchanged", async () => {
    // The editor is homeage's direct child: $PPID is homeage. The forwarded
    // SIGTERM then ends the editor's sleep.
    const r = await editWith("sed -i 's/alpha/bravo/' \"$1\"\nkill -TERM $PPID\nexec sleep 60")

    assert.equal(r.code, 1)
    assert.match(r.stdout, /interrupted by SIGTERM; secrets\/token\.age is unchanged/)
    assert.deepEqual(readFileSync(source), original)
    assertNoPlaintextLeft()
})

test("SIGINT to homeage while the editor runs: exit 1, the .age unchanged", async () => {
    const r = await editWith("kill -INT $PPID\nsed -i 's/alpha/bravo/' \"$1\"")

    assert.equal(r.code, 1)
    assert.match(r.stdout, /interrupted by SIGINT/)
    assert.deepEqual(readFileSync(source), original)
    assertNoPlaintextLeft()
})

test("$VISUAL wins over $EDITOR, and its arguments are split as a shell would", async () => {
    const editor = writeScript(join(box.root, "visual.sh"),
        "[ \"$1\" = \"--flag with space\" ] || exit 9\nsed -i \"s/alpha/$2/\" \"$3\"")
    const r = await runInTerminal(["edit", "token"], {
        cwd: project,
        env: { ...box.env, VISUAL: `${editor} '--flag with space' bravo`, EDITOR: "false" },
    })

    assert.equal(r.code, 0, r.stdout)
    assert.equal(ageDecrypt(source, keyB), NEW)
    assertNoPlaintextLeft()
})

test("without a terminal the new content is read from standard input", async () => {
    const r = await runCli(["edit", "token"], { cwd: project, env: box.env, input: PIPED })

    assert.equal(r.code, 0, r.stderr)
    assert.equal(ageDecrypt(source, keyA), PIPED)
    assert.equal(ageDecrypt(source, keyB), PIPED)
    assertNoPlaintextLeft()
})

test("the same content on standard input leaves the .age byte-identical", async () => {
    const r = await runCli(["edit", "secrets/token.age"], { cwd: project, env: box.env,
        input: OLD })

    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /unchanged/)
    assert.deepEqual(readFileSync(source), original)
})

test("an armored file stays armored", async () => {
    writeFileSync(source, ageEncrypt(OLD, [recipientA], true))
    const r = await runCli(["edit", "token"], { cwd: project, env: box.env, input: PIPED })

    assert.equal(r.code, 0, r.stderr)
    assert.match(readFileSync(source, "latin1"), /^-----BEGIN AGE ENCRYPTED FILE-----\n/)
    assert.equal(ageDecrypt(source, keyB), PIPED)
})

test("a file that cannot be decrypted: exit 1, unchanged, no editor run", async () => {
    const other = join(box.root, "c.txt")
    const stranger = ageEncrypt(OLD, [ageKey(other)])
    writeFileSync(source, stranger)
    const marker = join(box.root, "editor-ran")
    const r = await editWith(`touch ${JSON.stringify(marker)}`)

    assert.equal(r.code, 1)
    assert.match(r.stdout, /secret token/)
    assert.equal(existsSync(marker), false)
    assert.deepEqual(readFileSync(source), stranger)
    assertNoPlaintextLeft()
})

test("a file no secret declares is encrypted to the config's top-level recipients",
    async () => {
        const other = join(project, "secrets", "other.age")
        try {
            const r = await runCli(["edit", "secrets/other.age"], { cwd: project, env: box.env,
                input: PIPED })

            assert.equal(r.code, 0, r.stderr)
            assert.match(r.stdout, /secrets\/other\.age: created, encrypted to 2 recipients/)
            assert.equal(ageDecrypt(other, keyA), PIPED)
            assert.equal(ageDecrypt(other, keyB), PIPED)
        } finally {
            rmSync(other, { force: true })
        }
    })

test("without top-level recipients, a file outside the config needs -r or -R: exit 2",
    async () => {
        const bare = join(box.root, "bare.toml")
        writeFileSync(bare, `identityPaths = [${JSON.stringify(keyA)}]\n`)
        const r = await runCli(["--config", bare, "edit", "secrets/other.age"], { cwd: project,
            env: box.env, input: PIPED })

        assert.equal(r.code, 2)
        assert.match(r.stderr, /declares no such secret and no top-level recipients/)
        assert.match(r.stderr, /-r RECIPIENT or -R FILE, or set `recipients` in the config/)
        assert.equal(existsSync(join(project, "secrets", "other.age")), false)
    })

test("encrypt without -r, -R, -i or -p encrypts to the config's top-level recipients",
    async () => {
        const r = await runCli(["encrypt"], { cwd: project, env: box.env, input: PIPED })
        assert.equal(r.code, 0, r.stderr)
        const out = join(box.root, "encrypted.age")
        writeFileSync(out, r.stdoutBytes)
        assert.equal(ageDecrypt(out, keyA), PIPED)
        assert.equal(ageDecrypt(out, keyB), PIPED)

        const bare = join(box.root, "bare.toml")
        writeFileSync(bare, `identityPaths = [${JSON.stringify(keyA)}]\n`)
        const none = await runCli(["--config", bare, "encrypt", "-o", join(box.root, "x.age")],
            { cwd: project, env: box.env, input: PIPED })
        assert.equal(none.code, 2)
        assert.match(none.stderr, /encrypt: no recipients \(.*bare\.toml has no top-level /)
        assert.equal(existsSync(join(box.root, "x.age")), false)
    })

test("-r for a declared secret is a usage error: its recipients come from the config",
    async () => {
        const r = await runCli(["edit", "token", "-r", recipientA], { cwd: project,
            env: box.env, input: PIPED })

        assert.equal(r.code, 2)
        assert.deepEqual(readFileSync(source), original)
    })

test("a missing file becomes a new secret, encrypted to -r and -R", async () => {
    const newFile = join(project, "secrets", "new", "api.age")
    const recipientsFile = join(box.root, "recipients.txt")
    writeFileSync(recipientsFile, `# team\n${recipientB}\n`)
    const r = await runCli(["edit", "secrets/new/api.age", "-r", recipientA, "-R", recipientsFile],
        { cwd: project, env: box.env, input: PIPED })

    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /created, encrypted to 2 recipients/)
    assert.equal(ageDecrypt(newFile, keyA), PIPED)
    assert.equal(ageDecrypt(newFile, keyB), PIPED)
    assert.equal(statSync(newFile).mode & 0o777, 0o644)
})

test("a new secret given empty standard input is not written: exit 1, saying why", async () => {
    const r = await runCli(["edit", "secrets/empty.age", "-r", recipientA],
        { cwd: project, env: box.env, input: "" })

    assert.equal(r.code, 1, r.stderr)
    assert.ok(r.stderr.includes("the new content of secrets/empty.age (read from standard " +
        "input, which is not a terminal, so no editor was started) is empty, so nothing was " +
        "written; pipe the content in, or run homeage edit in a terminal to use $EDITOR"),
    r.stderr)
    assert.equal(existsSync(join(project, "secrets", "empty.age")), false)
})

test("a runtime dir that is not on tmpfs is refused, and no plaintext is written", async () => {
    const disk = join(box.root, "disk-runtime")
    mkdirSync(disk, { mode: 0o700 })
    const r = await editWith("sed -i 's/alpha/bravo/' \"$1\"", { XDG_RUNTIME_DIR: disk })

    assert.equal(r.code, 2)
    assert.match(r.stdout, /not on tmpfs or ramfs/)
    assert.deepEqual(entries(disk), [])
    assert.deepEqual(readFileSync(source), original)
})

test("a .age changed on disk during the edit is not overwritten: exit 1", async () => {
    const theirs = ageEncrypt("token=their-change\n", [recipientA])
    const theirsFile = join(box.root, "theirs.age")
    writeFileSync(theirsFile, theirs)
    const r = await editWith(`sed -i 's/alpha/bravo/' "$1"\ncp ${JSON.stringify(theirsFile)} `
        + JSON.stringify(source))

    assert.equal(r.code, 1)
    assert.match(r.stdout, /changed on disk while it was being edited; nothing was written/)
    assert.deepEqual(readFileSync(source), theirs)
    assertNoPlaintextLeft()
})

test("empty standard input never wipes an existing secret: exit 1, unchanged", async () => {
    const r = await runCli(["edit", "token"], { cwd: project, env: box.env, input: "" })

    assert.equal(r.code, 1)
    assert.match(r.stderr, /is empty, so secrets\/token\.age is unchanged/)
    assert.deepEqual(readFileSync(source), original)
})

test("an editor that replaces the file with a symlink: refused, the target not read",
    async () => {
        const victim = join(box.root, "victim.txt")
        writeFileSync(victim, `victim-${NONCE}\n`)
        const r = await editWith(`rm "$1" && ln -s ${JSON.stringify(victim)} "$1"`)

        assert.equal(r.code, 1, r.stdout)
        assert.match(r.stdout, /the editor replaced the file with a symlink, which edit never /)
        assert.deepEqual(readFileSync(source), original)
        assertNoPlaintextLeft()
    })

test("edit folders of killed edits are removed by the next edit; a live one is kept",
    async () => {
        const dead = join(box.runtime, "homeage-edit-2147483646-AbC123")
        const legacy = join(box.runtime, "homeage-edit-Zz9Yy8")
        const live = join(box.runtime, `homeage-edit-${process.pid}-LiVe00`)
        for (const folder of [dead, legacy, live]) {
            mkdirSync(folder, { mode: 0o700 })
            writeFileSync(join(folder, "token"), OLD, { mode: 0o600 })
        }

        const r = await runCli(["-v", "edit", "token"],
            { cwd: project, env: box.env, input: OLD })

        assert.equal(r.code, 0, r.stderr)
        assert.equal(existsSync(dead), false)
        assert.equal(existsSync(legacy), false)
        assert.equal(readFileSync(join(live, "token"), "utf8"), OLD)
        assert.match(r.stderr, new RegExp(`removed ${dead}, left by an edit that was killed`))
        rmSync(live, { recursive: true })
        assertNoPlaintextLeft()
    })
