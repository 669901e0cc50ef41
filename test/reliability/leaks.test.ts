/**
 * No leaks (issue 7): the authoring and runtime flows, and a failure of each,
 * run against one world whose secrets carry distinctive random tokens and
 * whose identities are an X25519 key and a passphrase-protected ssh-ed25519
 * key (passphrase given through HOMEAGE_ASKPASS). Afterwards the world (the
 * state dir and the dotfiles included, but not the runtime dir, the declared
 * copies and the key files themselves), /tmp, $TMPDIR and everything every
 * run printed are searched for each plaintext (as is and hex), each
 * `AGE-SECRET-KEY-…` line, the private lines of the SSH key and the
 * passphrase: zero hits. The other suites run the same scan after their own
 * flows (crash, concurrency, hostile).
 */
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { copyFileSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { runInTerminal } from "../authoring/helpers.js"
import { runCli } from "../helpers/cli.js"
import {
    ageIdentityNeedles, passphraseNeedles, plaintextNeedles, scanOutput, scanTree, sshKeyNeedles,
    token, type Needle,
} from "./leaks.js"
import { runToEnd, type Finished } from "./proc.js"
import { Tally } from "./results.js"
import { makeSwitchWorld, type SwitchWorld } from "./switching.js"

const tally = new Tally("leaks", 5, "flows")
const outputs: string[] = []
const needles: Needle[] = []
let w: SwitchWorld
let config: string
let badConfig: string
let sshKey: string
let askpass: string
let passphrase: string

function encrypt(args: string[], text: string, out: string): void {
    execFileSync("age", ["-e", ...args, "-o", out], { input: text })
}

before(() => {
    w = makeSwitchWorld("leaks")
    sshKey = join(w.home, "keys", "id_ed25519")
    passphrase = token("passphrase")
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-a", "4", "-N", passphrase, "-C", "leaks",
        "-f", sshKey])
    askpass = join(w.root, "askpass.sh")
    writeFileSync(askpass, `#!/bin/sh\nprintf '%s\\n' '${passphrase}'\n`, { mode: 0o700 })
    const recipient = execFileSync("age-keygen", ["-y", w.identity], { encoding: "utf8" }).trim()

    const texts: Record<string, string> = {
        token: `${token("leak-token")}\n`, netrc: `machine x password ${token("leak-netrc")}\n`,
        "ssh-only": `${token("leak-ssh")}\n`,
    }
    for (const [name, text] of Object.entries(texts)) {
        needles.push(...plaintextNeedles(`plaintext of ${name}`, text.trim()))
    }
    const dir = join(w.dotfiles, "secrets")
    encrypt(["-r", recipient], texts.token ?? "", join(dir, "leak-token.age"))
    encrypt(["-a", "-r", recipient], texts.netrc ?? "", join(dir, "leak-netrc.age"))
    encrypt(["-R", `${sshKey}.pub`], texts["ssh-only"] ?? "", join(dir, "leak-ssh.age"))
    writeFileSync(join(dir, "leak-bad.age"),
        readFileSync(join(dir, "leak-token.age")).subarray(0, 200))

    const head = `identityPaths = ["~/keys/identity.txt", "~/keys/id_ed25519"]
installationType = "activation"
recipients = ["${recipient}"]
`
    config = join(w.dotfiles, "leaks.toml")
    writeFileSync(config, `${head}
[secrets.token]
source = "secrets/leak-token.age"
symlinks = ["~/.config/leaks/token"]

[secrets.netrc]
source = "secrets/leak-netrc.age"
copies = ["~/.netrc"]

[secrets.ssh-only]
source = "secrets/leak-ssh.age"
`)
    badConfig = join(w.dotfiles, "leaks-bad.toml")
    writeFileSync(badConfig, `${head}
[secrets.token]
source = "secrets/leak-bad.age"
`)
    needles.push(...ageIdentityNeedles("X25519 identity", w.identity))
    needles.push(...sshKeyNeedles("ssh-ed25519 key", sshKey))
    needles.push(...passphraseNeedles("SSH key passphrase", passphrase))
})

after(() => {
    tally.save()
    w.destroy()
})

function homeage(args: string[], file = config): Promise<Finished> {
    return runToEnd(["--config", file, ...args], {
        env: w.env({ HOMEAGE_ASKPASS: askpass }), cwd: w.root,
    })
}

/** Runs one flow and checks its exit status. */
async function flow(label: string, expectOk: boolean, body: () => Promise<Finished>) {
    await tally.check(label, async () => {
        const r = await body()
        outputs.push(r.stdout, r.stderr)
        if (expectOk) assert.equal(r.code, 0, `${label}: ${r.stderr}`)
        else assert.notEqual(r.code, 0, `${label} succeeded`)
    })
}

test("activate, stop, start, edit, rekey and their failures leak nothing", async () => {
    const mark = tally.failures.length
    tally.checks("flows: activate, stop, start, edit (piped and with an editor), rekey, " +
        "decrypt -o, and a failure of each")
    tally.checks("scan of the world (state dir, dotfiles), /tmp, $TMPDIR and all CLI output " +
        "for plaintexts (raw, hex), AGE-SECRET-KEY lines, SSH private key lines, passphrase")
    const env = w.env({ HOMEAGE_ASKPASS: askpass })

    await flow("activate", true, () => homeage(["activate"]))
    await flow("activate of a truncated source fails", false,
        () => homeage(["activate"], badConfig))
    await flow("stop", true, () => homeage(["stop"]))
    await flow("start", true, () => homeage(["start"]))
    await flow("start without identities fails", false, async () => {
        await homeage(["stop"])
        renameSync(w.identity, `${w.identity}.away`)
        renameSync(sshKey, `${sshKey}.away`)
        try {
            return await homeage(["start"])
        } finally {
            renameSync(`${w.identity}.away`, w.identity)
            renameSync(`${sshKey}.away`, sshKey)
        }
    })
    await flow("start again", true, () => homeage(["start"]))
    const edited = `${token("leak-edited")}\n`
    needles.push(...plaintextNeedles("plaintext of the edit", edited.trim()))
    await flow("edit with content on standard input", true,
        () => runCli(["--config", config, "edit", "token"], { env, cwd: w.root, input: edited }))
    await flow("edit with an editor that fails", false, () => runInTerminal(
        ["--config", config, "edit", "netrc"], { env: { ...env, EDITOR: "false", VISUAL: "" },
            cwd: w.root }))
    await flow("rekey", true, () => homeage(["rekey"]))
    const saved = join(w.root, "saved.age")
    copyFileSync(join(w.dotfiles, "secrets", "leak-netrc.age"), saved)
    const damaged = readFileSync(saved).subarray(0, 90)
    writeFileSync(join(w.dotfiles, "secrets", "leak-netrc.age"), damaged)
    await flow("rekey of a damaged source fails", false, () => homeage(["rekey"]))
    copyFileSync(saved, join(w.dotfiles, "secrets", "leak-netrc.age"))
    rmSync(saved)
    await flow("activate after the edit", true, () => homeage(["activate"]))
    await flow("decrypt -o of a truncated file fails", false, () => homeage(["decrypt", "-i",
        w.identity, "-o", join(w.run, "out"), join(w.dotfiles, "secrets", "leak-bad.age")]))
    await flow("stop at the end", true, () => homeage(["stop"]))

    await tally.check("leak scan", () => {
        const exclude = [w.run, w.identity, sshKey, askpass, join(w.home, ".netrc")]
        const roots = [w.root, "/tmp", process.env.TMPDIR ?? "/tmp"]
        const scan = scanTree([...new Set(roots)], needles, { exclude })
        scan.hits.push(...scanOutput(outputs, needles))
        assert.ok(scan.files > 0)
        assert.deepEqual(scan.hits, [])
    })
    assert.deepEqual(tally.failureList(mark), [])
})
