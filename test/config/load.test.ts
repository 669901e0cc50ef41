import assert from "node:assert/strict"
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { afterEach, beforeEach, describe, test } from "node:test"

import { type Config, environment, loadConfig } from "../../src/config/index.js"
import { type Home, ageRecipient, makeHome, sshRecipient } from "./fixtures.js"

let h: Home

beforeEach(() => {
    h = makeHome()
    h.write("secrets/a.age", "encrypted a")
    h.write("secrets/b.age", "encrypted b")
})

afterEach(() => {
    h.cleanup()
})

/** Writes a config file in the dotfiles folder and loads it. */
function load(name: string, text: string, env = h.env): Promise<Config> {
    return loadConfig(h.write(name, text), env)
}

describe("defaults", () => {
    test("a secret with only a source gets every default", async () => {
        const config = await load("homeage.toml",
            "[secrets.gh-token]\nsource = \"secrets/a.age\"\n")

        assert.deepEqual(config, {
            file: join(h.dotfiles, "homeage.toml"),
            identityPaths: [],
            runtimeDir: join(h.root, "run", "secrets"),
            installationType: process.platform === "darwin" ? "launchd" : "systemd",
            recipients: [],
            allowPersistentRuntimeDir: false,
            generationsToKeep: 10,
            secrets: [{
                name: "gh-token",
                source: join(h.dotfiles, "secrets", "a.age"),
                path: join(h.root, "run", "secrets", "gh-token"),
                mode: 0o400,
                owner: undefined,
                group: undefined,
                symlinks: [],
                copies: [],
                recipients: [],
            }],
        })
    })

    test("identityPaths defaults to the standard identity files that exist, in order", async () => {
        mkdirSync(join(h.home, ".ssh"), { recursive: true })
        mkdirSync(join(h.home, ".config", "homeage"), { recursive: true })
        writeFileSync(join(h.home, ".ssh", "id_rsa"), "key")
        writeFileSync(join(h.home, ".config", "homeage", "identity.txt"), "key")

        const config = await load("homeage.toml", "")
        assert.deepEqual(config.identityPaths, [
            join(h.home, ".ssh", "id_rsa"),
            join(h.home, ".config", "homeage", "identity.txt"),
        ])

        writeFileSync(join(h.home, ".ssh", "id_ed25519"), "key")
        const again = await load("homeage.toml", "")
        assert.equal(again.identityPaths[0], join(h.home, ".ssh", "id_ed25519"))
        assert.equal(again.identityPaths.length, 3)
    })

    test("the default identity.txt follows $XDG_CONFIG_HOME", async () => {
        const env = environment({ HOME: h.home, XDG_CONFIG_HOME: join(h.root, "xdg-config") })
        mkdirSync(join(h.root, "xdg-config", "homeage"), { recursive: true })
        writeFileSync(join(h.root, "xdg-config", "homeage", "identity.txt"), "key")

        const config = await load("homeage.toml", "", env)
        assert.deepEqual(config.identityPaths,
            [join(h.root, "xdg-config", "homeage", "identity.txt")])
    })

    test("without XDG_RUNTIME_DIR the runtime dir is /run/user/$UID/secrets", async (t) => {
        if (process.platform !== "linux") {
            t.skip("Linux only")
            return
        }
        const env = environment({ HOME: h.home, USER: "alice" })
        const config = await load("homeage.toml", "[secrets.x]\nsource = \"secrets/a.age\"\n", env)
        assert.equal(config.runtimeDir, `/run/user/${process.getuid?.() ?? -1}/secrets`)
        assert.equal(config.secrets[0]?.path, `/run/user/${process.getuid?.() ?? -1}/secrets/x`)
    })

    test("an empty TOML or YAML file is a config without secrets", async () => {
        for (const name of ["homeage.toml", "homeage.yaml"]) {
            const config = await load(name, "")
            assert.deepEqual(config.secrets, [])
            assert.equal(config.generationsToKeep, 10)
        }
    })
})

describe("options", () => {
    test("every option is read and every path resolved", async () => {
        const age = ageRecipient()
        const ssh = sshRecipient(h.root)
        const config = await load("homeage.toml", [
            "\"$schema\" = \"https://example.org/homeage.schema.json\"",
            "identityPaths = [\"~/.ssh/id_ed25519\", \"$XDG_CONFIG_HOME/homeage/key.txt\"]",
            "runtimeDir = \"${XDG_RUNTIME_DIR}/my-secrets/\"",
            "installationType = \"activation\"",
            `recipients = [${JSON.stringify(age)}]`,
            "allowPersistentRuntimeDir = true",
            "generationsToKeep = 3",
            "",
            "[secrets.gh-token]",
            "source = \"secrets/a.age\"",
            "path = \"tokens/gh\"",
            "mode = \"0440\"",
            "owner = \"alice\"",
            "group = \"users\"",
            "symlinks = [\"~/.config/gh/token\", \"$HOME/.gh-token\"]",
            "copies = [\"$XDG_DATA_HOME/app/token\"]",
            `recipients = [${JSON.stringify(ssh)}]`,
            "",
            "[secrets.\"net/netrc\"]",
            "source = \"./secrets/../secrets/b.age\"",
            "path = \"/tmp/elsewhere/netrc\"",
            "mode = \"600\"",
        ].join("\n"))

        const run = join(h.root, "run", "my-secrets")
        assert.deepEqual(config, {
            file: join(h.dotfiles, "homeage.toml"),
            identityPaths: [
                join(h.home, ".ssh", "id_ed25519"),
                join(h.home, ".config", "homeage", "key.txt"),
            ],
            runtimeDir: run,
            installationType: "activation",
            recipients: [age],
            allowPersistentRuntimeDir: true,
            generationsToKeep: 3,
            secrets: [{
                name: "gh-token",
                source: join(h.dotfiles, "secrets", "a.age"),
                path: join(run, "tokens", "gh"),
                mode: 0o440,
                owner: "alice",
                group: "users",
                symlinks: [join(h.home, ".config", "gh", "token"), join(h.home, ".gh-token")],
                copies: [join(h.home, ".local", "share", "app", "token")],
                recipients: [ssh],
            }, {
                name: "net/netrc",
                source: join(h.dotfiles, "secrets", "b.age"),
                path: "/tmp/elsewhere/netrc",
                mode: 0o600,
                owner: undefined,
                group: undefined,
                symlinks: [],
                copies: [],
                recipients: [age],
            }],
        })
    })

    test("TOML, YAML and JSON files with the same content give the same Config", async () => {
        const age = ageRecipient()
        const toml = [
            "runtimeDir = \"$XDG_RUNTIME_DIR/s\"",
            `recipients = [${JSON.stringify(age)}]`,
            "generationsToKeep = 4",
            "[secrets.one]",
            "source = \"../secrets/a.age\"",
            "mode = \"0600\"",
            "symlinks = [\"~/one\"]",
            "[secrets.\"dir/two\"]",
            "source = \"../secrets/b.age\"",
            "copies = [\"~/two\"]",
        ].join("\n")
        const yaml = [
            "runtimeDir: $XDG_RUNTIME_DIR/s",
            `recipients: [${age}]`,
            "generationsToKeep: 4",
            "secrets:",
            "  one:",
            "    source: ../secrets/a.age",
            "    mode: \"0600\"",
            "    symlinks:",
            "      - ~/one",
            "  dir/two:",
            "    source: ../secrets/b.age",
            "    copies: [~/two]",
        ].join("\n")
        const json = JSON.stringify({
            $schema: "../schema/homeage.schema.json",
            runtimeDir: "$XDG_RUNTIME_DIR/s",
            recipients: [age],
            generationsToKeep: 4,
            secrets: {
                "one": { source: "../secrets/a.age", mode: "0600", symlinks: ["~/one"] },
                "dir/two": { source: "../secrets/b.age", copies: ["~/two"] },
            },
        }, null, 2)

        const configs = await Promise.all([
            load("toml/homeage.toml", toml),
            load("yaml/homeage.yaml", yaml),
            load("yml/homeage.yml", `$schema: ../schema/homeage.schema.json\n${yaml}`),
            load("json/homeage.json", json),
        ])
        const [first, ...rest] = configs.map(({ file: _file, ...config }) => config)
        assert.equal(first?.secrets.length, 2)
        assert.equal(first.secrets[1]?.source, join(h.dotfiles, "secrets", "b.age"))
        for (const other of rest) assert.deepEqual(other, first)
    })

    test("a relative path is under runtimeDir; paths are normalized", async () => {
        const config = await load("homeage.yaml", [
            "secrets:",
            "  a: { source: secrets/a.age, path: 'x//y/../z/' }",
            "  b: { source: secrets/b.age, path: '$HOME/../outside//b/' }",
        ].join("\n"))
        assert.equal(config.secrets[0]?.path, join(h.root, "run", "secrets", "x", "z"))
        assert.equal(config.secrets[1]?.path, join(h.root, "outside", "b"))
    })

    test("a secret's own recipients override the top-level ones", async () => {
        const top = ageRecipient()
        const own = ageRecipient()
        const config = await load("homeage.json", JSON.stringify({
            recipients: [top],
            secrets: {
                a: { source: "secrets/a.age", recipients: [own, top] },
                b: { source: "secrets/b.age" },
            },
        }))
        assert.deepEqual(config.secrets.map((s) => s.recipients), [[own, top], [top]])
        assert.deepEqual(config.recipients, [top])
    })

    test("a mode has three octal digits and an optional leading 0", async () => {
        const modes = ["0400", "400", "0644", "700", "0000"]
        const secrets = modes.map((mode, i) =>
            `  s${i}: { source: secrets/a.age, mode: "${mode}" }`)
        const config = await load("homeage.yaml", `secrets:\n${secrets.join("\n")}\n`)
        assert.deepEqual(config.secrets.map((s) => s.mode), [0o400, 0o400, 0o644, 0o700, 0])
    })

    test("a source may be absolute or use ~/ and variables", async () => {
        const config = await load("homeage.toml", [
            "[secrets.a]",
            `source = ${JSON.stringify(join(h.dotfiles, "secrets", "a.age"))}`,
            "[secrets.b]",
            "source = \"~/dotfiles/secrets/b.age\"",
            "[secrets.c]",
            "source = \"$HOME/dotfiles/secrets/b.age\"",
        ].join("\n"))
        assert.deepEqual(config.secrets.map((s) => s.source), [
            join(h.dotfiles, "secrets", "a.age"),
            join(h.dotfiles, "secrets", "b.age"),
            join(h.dotfiles, "secrets", "b.age"),
        ])
    })

    test("relative sources are taken from the real folder of a symlinked config", async () => {
        const real = h.write("homeage.toml", "[secrets.a]\nsource = \"secrets/a.age\"\n")
        const linked = join(h.home, ".config", "homeage", "homeage.toml")
        mkdirSync(join(h.home, ".config", "homeage"), { recursive: true })
        symlinkSync(real, linked)

        const config = await loadConfig(linked, h.env)
        assert.equal(config.file, linked)
        assert.equal(config.secrets[0]?.source, join(h.dotfiles, "secrets", "a.age"))
    })

    test("names may use letters, digits, . _ - and / for sub-folders", async () => {
        const names = ["a", "A.b_c-d", "dir/sub/name", ".hidden", "x..y", "0"]
        const toml = names.map((n) => `[secrets.${JSON.stringify(n)}]\nsource = "secrets/a.age"`)
        const config = await load("homeage.toml", toml.join("\n"))
        assert.deepEqual(config.secrets.map((s) => s.name).sort(), [...names].sort())
        const sub = config.secrets.find((s) => s.name === "dir/sub/name")
        assert.equal(sub?.path, join(h.root, "run", "secrets", "dir", "sub", "name"))
    })
})
