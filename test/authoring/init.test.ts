import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { after, before, test } from "node:test"

import { chooseInstallation, starterConfig } from "../../src/authoring/init.js"
import { environment, loadConfig } from "../../src/config/index.js"
import { runCli } from "../helpers/cli.js"
import { type Sandbox, ageKey, makeSandbox, removeSandbox, sshKey } from "./helpers.js"

const silent = { info: () => undefined, warn: () => undefined, detail: () => undefined }

let box: Sandbox

before(() => {
    box = makeSandbox("init")
})

after(() => {
    removeSandbox(box)
})

function freshHome(name: string): { env: NodeJS.ProcessEnv, home: string, cwd: string } {
    const home = join(box.root, name)
    const cwd = join(home, "dotfiles")
    mkdirSync(cwd, { recursive: true })
    const env = { ...box.env, HOME: home, XDG_CONFIG_HOME: join(home, ".config") }
    return { env, home, cwd }
}

test("init writes a config and a new identity whose recipient it lists", async () => {
    const { env, home, cwd } = freshHome("fresh")
    const r = await runCli(["init"], { cwd, env })

    assert.equal(r.code, 0, r.stderr)
    const identity = join(home, ".config", "homeage", "identity.txt")
    const config = join(cwd, "homeage.toml")
    assert.equal(statSync(identity).mode & 0o777, 0o600)
    assert.equal(statSync(join(home, ".config", "homeage")).mode & 0o777, 0o700)
    assert.equal(statSync(config).mode & 0o777, 0o644)

    const recipient = execFileSync("age-keygen", ["-y", identity], { encoding: "utf8" }).trim()
    const text = readFileSync(config, "utf8")
    assert.ok(text.includes(`recipients = [\n    "${recipient}",\n]\n`))
    assert.match(readFileSync(identity, "utf8"),
        new RegExp(`^# created: \\S+\\n# public key: ${recipient}\\nAGE-SECRET-KEY-1[0-9A-Z]+\\n$`))
    assert.ok(r.stdout.includes(
        `next: run \`homeage edit secrets/example.age -r ${recipient}\` to write a first secret`))
    assert.doesNotMatch(r.stdout + r.stderr, /AGE-SECRET-KEY/)

    const loaded = await loadConfig(config, environment(env))
    assert.deepEqual(loaded.recipients, [recipient])
    assert.deepEqual(loaded.secrets, [])
    assert.deepEqual(loaded.identityPaths, [identity])
})

test("init refuses to overwrite a config: exit 1, files unchanged", async () => {
    const { env, home, cwd } = freshHome("twice")
    assert.equal((await runCli(["init"], { cwd, env })).code, 0)
    const config = join(cwd, "homeage.toml")
    const identity = join(home, ".config", "homeage", "identity.txt")
    const configBefore = readFileSync(config)
    const identityBefore = readFileSync(identity)

    const r = await runCli(["init"], { cwd, env })

    assert.equal(r.code, 1)
    assert.match(r.stderr, /homeage\.toml already exists; init leaves it unchanged/)
    assert.deepEqual(readFileSync(config), configBefore)
    assert.deepEqual(readFileSync(identity), identityBefore)
})

test("init refuses when a YAML config is there, and creates no identity", async () => {
    const { env, home, cwd } = freshHome("yaml")
    writeFileSync(join(cwd, "homeage.yaml"), "recipients: []\n")

    const r = await runCli(["init"], { cwd, env })

    assert.equal(r.code, 1)
    assert.equal(existsSync(join(cwd, "homeage.toml")), false)
    assert.equal(existsSync(join(home, ".config", "homeage", "identity.txt")), false)
})

test("with a usable SSH key, init creates no identity and lists the key", async () => {
    const { env, home, cwd } = freshHome("ssh")
    mkdirSync(join(home, ".ssh"), { mode: 0o700 })
    const publicKey = sshKey(join(home, ".ssh", "id_ed25519"))

    const r = await runCli(["init"], { cwd, env })

    assert.equal(r.code, 0, r.stderr)
    assert.equal(existsSync(join(home, ".config", "homeage", "identity.txt")), false)
    const blob = publicKey.split(" ")[1]!
    assert.match(readFileSync(join(cwd, "homeage.toml"), "utf8"),
        new RegExp(`recipients = \\[\\n    "ssh-ed25519 ${blob.replaceAll("+", "\\+")}`))
    const loaded = await loadConfig(join(cwd, "homeage.toml"), environment(env))
    assert.equal(loaded.recipients.length, 1)
})

test("the printed next step works: edit the example, declare it, edit it by name", async () => {
    const { env, home, cwd } = freshHome("flow")
    const init = await runCli(["init"], { cwd, env })
    const identity = join(home, ".config", "homeage", "identity.txt")
    const recipient = execFileSync("age-keygen", ["-y", identity], { encoding: "utf8" }).trim()

    const first = await runCli(["edit", "secrets/example.age", "-r", recipient],
        { cwd, env, input: "first\n" })
    assert.equal(first.code, 0, init.stdout + first.stderr)

    const config = join(cwd, "homeage.toml")
    writeFileSync(config, readFileSync(config, "utf8")
        .replace("# [secrets.example]\n# source", "[secrets.example]\nsource"))
    const second = await runCli(["edit", "example"], { cwd, env, input: "second\n" })

    assert.equal(second.code, 0, second.stderr)
    assert.equal(execFileSync("age", ["-d", "-i", identity, join(cwd, "secrets", "example.age")],
        { encoding: "utf8" }), "second\n")
})

test("without a reachable systemd user manager, init writes installationType activation " +
    "and says why and how to switch", async () => {
    const { env, cwd } = freshHome("no-manager")
    const r = await runCli(["init"], { cwd, env })

    assert.equal(r.code, 0, r.stderr)
    const text = readFileSync(join(cwd, "homeage.toml"), "utf8")
    assert.match(text, /\n# When this file was written, no systemd user manager answered: .+\.\n/)
    assert.match(text, /\n# To let systemd user units do it, set installationType = "systemd" /)
    assert.match(text, /\ninstallationType = "activation"\n/)
    assert.match(r.stdout, /with 1 recipient and installationType = "activation"\n/)
    const loaded = await loadConfig(join(cwd, "homeage.toml"), environment(env))
    assert.equal(loaded.installationType, "activation")
})

test("init chooses systemd when the user manager answers, launchd on macOS", async () => {
    const { env, cwd } = freshHome("choose")
    const options = { cwd, env: environment(env), report: silent }
    const reachable = () => Promise.resolve({ reachable: true as const, unitPath: [] })
    const unreachable = () => Promise.resolve({ reachable: false as const, reason: "no bus" })

    assert.deepEqual(await chooseInstallation(
        { ...options, platform: "linux", probeSystemd: reachable }), { type: "systemd" })
    assert.deepEqual(await chooseInstallation(
        { ...options, platform: "linux", probeSystemd: unreachable }),
    { type: "activation", reason: "no systemd user manager answered: no bus" })
    assert.deepEqual(await chooseInstallation({ ...options, platform: "darwin" }),
        { type: "launchd" })

    const recipient = ageKey(join(cwd, "key.txt"))
    for (const type of ["systemd", "launchd"] as const) {
        const file = join(cwd, `${type}.toml`)
        writeFileSync(file, starterConfig([recipient], { type }))
        const config = await loadConfig(file, environment(env), { allowMissingSources: true })
        assert.equal(config.installationType, type)
    }
})

test("with two recipients, the printed next step passes both", async () => {
    const { env, home, cwd } = freshHome("two")
    mkdirSync(join(home, ".ssh"), { mode: 0o700 })
    const publicKey = sshKey(join(home, ".ssh", "id_ed25519"))
    mkdirSync(join(home, ".config", "homeage"), { recursive: true, mode: 0o700 })
    const recipient = ageKey(join(home, ".config", "homeage", "identity.txt"))

    const r = await runCli(["init"], { cwd, env })

    assert.equal(r.code, 0, r.stderr)
    const [kind = "", blob = ""] = publicKey.split(" ")
    assert.ok(r.stdout.includes(`next: run \`homeage edit secrets/example.age -r '${kind} ` +
        `${blob}' -r ${recipient}\` to write a first secret`), r.stdout)
})
