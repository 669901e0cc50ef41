import assert from "node:assert/strict"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { afterEach, beforeEach, describe, test } from "node:test"

import { environment, loadConfig } from "../../src/config/index.js"
import { type Home, ageRecipient, makeHome, usageError } from "./fixtures.js"

let h: Home

beforeEach(() => {
    h = makeHome()
    h.write("secrets/a.age", "encrypted a")
})

afterEach(() => {
    h.cleanup()
})

const MODE_MESSAGE = "must be a quoted octal string such as \"0400\" (unquoted, YAML reads 0400 "
    + "as the number 400, and TOML refuses it)"

/** Loads a config that must fail; returns the error's problems after checking its message. */
async function problems(name: string, text: string, env = h.env): Promise<readonly string[]> {
    const file = h.write(name, text)
    const err = await usageError(() => loadConfig(file, env))
    assert.equal(err.exitCode, 2)
    assert.ok(err.message.includes(file), `the message names the file: ${err.message}`)
    assert.match(err.message, new RegExp(`has ${err.problems.length} errors?;`))
    return err.problems
}

describe("schema errors", () => {
    test("a numeric mode explains the quoting trap, in YAML, TOML and JSON", async () => {
        const yaml = await problems("homeage.yaml", "secrets:\n  gh-token:\n"
            + "    source: secrets/a.age\n    mode: 0400\n")
        assert.deepEqual(yaml, [`secrets.gh-token.mode: ${MODE_MESSAGE}`])

        const toml = await problems("homeage.toml", "[secrets.gh-token]\n"
            + "source = \"secrets/a.age\"\nmode = 400\n")
        assert.deepEqual(toml, [`secrets.gh-token.mode: ${MODE_MESSAGE}`])

        const json = await problems("homeage.json",
            "{\"secrets\": {\"gh-token\": {\"source\": \"secrets/a.age\", \"mode\": 256}}}")
        assert.deepEqual(json, [`secrets.gh-token.mode: ${MODE_MESSAGE}`])
    })

    test("a mode string that is not three octal digits is an error", async () => {
        const found = await problems("homeage.yaml", [
            "secrets:",
            "  a: { source: secrets/a.age, mode: '0800' }",
            "  b: { source: secrets/a.age, mode: 'rw-------' }",
            "  c: { source: secrets/a.age, mode: '04000' }",
        ].join("\n"))
        const message = "must be an octal mode such as \"0400\" or \"600\": three digits 0-7, "
            + "optionally after a 0"
        assert.deepEqual(found, [
            `secrets.a.mode: ${message}`,
            `secrets.b.mode: ${message}`,
            `secrets.c.mode: ${message}`,
        ])
    })

    test("unknown keys are errors, with the likely key suggested", async () => {
        const found = await problems("homeage.toml", [
            "runtime_dir = \"/tmp/x\"",
            "colour = true",
            "[secrets.a]",
            "source = \"secrets/a.age\"",
            "symlink = [\"~/a\"]",
            "[gh-token]",
            "source = \"secrets/a.age\"",
        ].join("\n"))
        assert.deepEqual(found, [
            "runtime_dir: unknown key; did you mean runtimeDir?",
            "colour: unknown key (known keys: $schema, identityPaths, runtimeDir, "
                + "installationType, recipients, allowPersistentRuntimeDir, generationsToKeep, "
                + "secrets)",
            "secrets.a.symlink: unknown key; did you mean symlinks?",
            "gh-token: unknown key; a secret goes under secrets (in TOML: [secrets.gh-token])",
        ])
    })

    test("wrong types and values name the key and what is expected", async () => {
        const found = await problems("homeage.yaml", [
            "identityPaths: ~/.ssh/id_ed25519",
            "installationType: cron",
            "allowPersistentRuntimeDir: 'yes'",
            "generationsToKeep: 0",
            "secrets:",
            "  a:",
            "    source: secrets/a.age",
            "    owner: 'alice smith'",
            "    recipients: []",
            "    symlinks: [~/a, 3]",
            "  b: null",
            "  c:",
            "    path: x",
        ].join("\n"))
        assert.deepEqual(found, [
            "identityPaths: must be a list, not a string",
            "installationType: must be \"systemd\", \"launchd\" or \"activation\"",
            "allowPersistentRuntimeDir: must be true or false, not a string",
            "generationsToKeep: must be at least 1",
            "secrets.a.owner: must be a user name or a numeric id",
            "secrets.a.recipients: must list at least one recipient when given",
            "secrets.a.symlinks[1]: must be a string, not the number 3",
            "secrets.b: must be a table (object), not null",
            "secrets.c.source: is required",
        ])
    })

    test("generationsToKeep must be a whole number", async () => {
        const found = await problems("homeage.json", "{\"generationsToKeep\": 1.5}")
        assert.deepEqual(found, ["generationsToKeep: must be a whole number, not the number 1.5"])
    })

    test("a file whose top level is not a table is an error", async () => {
        const found = await problems("homeage.yaml", "- a\n- b\n")
        assert.deepEqual(found, ["(top level): must be a table (object), not a list"])
    })
})

describe("names", () => {
    test("bad secret names are errors naming the secret", async () => {
        const names = ["..", "a/../b", "a//b", "/abs", "trail/", ".", "a b", "tab\there", "é"]
        const toml = names.map((n) => `[secrets.${JSON.stringify(n)}]\nsource = "secrets/a.age"`)
        const found = await problems("homeage.toml", toml.join("\n"))
        assert.deepEqual(found, [
            "secrets.\"..\": a secret name must not have a . or .. segment",
            "secrets.\"a/../b\": a secret name must not have a . or .. segment",
            "secrets.a//b: a secret name must not have an empty segment (//)",
            "secrets./abs: a secret name must not start with /",
            "secrets.trail/: a secret name must not end with /",
            "secrets.\".\": a secret name must not have a . or .. segment",
            "secrets.\"a b\": a secret name may only contain ASCII letters, digits and . _ - /",
            "secrets.\"tab\\u0009here\": a secret name must not contain control characters",
            "secrets.\"é\": a secret name may only contain ASCII letters, digits and . _ - /",
        ])
    })

    test("an empty name is an error", async () => {
        const found = await problems("homeage.json",
            "{\"secrets\": {\"\": {\"source\": \"secrets/a.age\"}}}")
        assert.deepEqual(found, ["secrets.\"\": a secret name must not be empty"])
    })
})

describe("paths", () => {
    test("relative symlinks, copies, identityPaths and runtimeDir are errors", async () => {
        const found = await problems("homeage.toml", [
            "identityPaths = [\"keys/id\"]",
            "runtimeDir = \"run/secrets\"",
            "[secrets.a]",
            "source = \"secrets/a.age\"",
            "path = \"/abs/a\"",
            "symlinks = [\".config/a\", \"~/ok\"]",
            "copies = [\"./copy\"]",
        ].join("\n"))
        const hint = "write an absolute path or one starting with ~/"
        assert.deepEqual(found, [
            `identityPaths[0]: "keys/id" is relative; ${hint}`,
            `runtimeDir: "run/secrets" is relative; ${hint}`,
            `secrets.a.symlinks[0]: ".config/a" is relative; ${hint}`,
            `secrets.a.copies[0]: "./copy" is relative; ${hint}`,
        ])
    })

    test("unknown variables, unset XDG_RUNTIME_DIR and malformed $ are errors", async () => {
        const env = environment({ HOME: h.home, USER: "alice" })
        const found = await problems("homeage.toml", [
            "runtimeDir = \"$XDG_RUNTIME_DIR/secrets\"",
            "[secrets.a]",
            "source = \"secrets/a.age\"",
            "path = \"/x/a\"",
            "symlinks = [\"$HOME/$TOKEN_DIR/a\", \"${XDG_CONFIG_HOME/a\", \"/cost/$/a\"]",
            "copies = [\"~bob/a\", \"${}/a\"]",
        ].join("\n"), env)
        assert.deepEqual(found, [
            "runtimeDir: $XDG_RUNTIME_DIR is not set in the environment "
                + "(set it, or write the path without it)",
            "secrets.a.symlinks[0]: $TOKEN_DIR is not a variable homeage expands (known: $HOME, "
                + "$USER, $UID, $XDG_RUNTIME_DIR, $XDG_CONFIG_HOME, $XDG_STATE_HOME, "
                + "$XDG_DATA_HOME, $XDG_CACHE_HOME)",
            "secrets.a.symlinks[1]: has a ${ without a variable name and closing } "
                + "(write ${NAME})",
            "secrets.a.symlinks[2]: has a $ that does not start a variable "
                + "(write $NAME or ${NAME})",
            "secrets.a.copies[0]: only ~/ (your own home folder) is expanded; write other "
                + "users' folders as absolute paths",
            "secrets.a.copies[1]: has a ${ without a variable name and closing } "
                + "(write ${NAME})",
        ])
    })

    test("a relative path that leaves runtimeDir is an error", async () => {
        const found = await problems("homeage.yaml",
            "secrets:\n  a: { source: secrets/a.age, path: ../../etc/a }\n")
        assert.deepEqual(found, [
            "secrets.a.path: the relative path \"../../etc/a\" leaves runtimeDir "
                + `(${join(h.root, "run", "secrets")}); write an absolute path instead`,
        ])
    })

    test("control characters in paths are errors", async () => {
        const found = await problems("homeage.json", JSON.stringify({
            secrets: { a: { source: "secrets/a.age", symlinks: ["/tmp/a\nb"], copies: [""] } },
        }))
        assert.deepEqual(found, [
            "secrets.a.symlinks[0]: contains a control character",
            "secrets.a.copies[0]: must not be empty",
        ])
    })
})

describe("sources", () => {
    test("a missing source or one that is not a regular file is an error", async () => {
        mkdirSync(join(h.dotfiles, "secrets", "dir.age"))
        const found = await problems("homeage.toml", [
            "[secrets.a]",
            "source = \"secrets/missing.age\"",
            "[secrets.b]",
            "source = \"secrets/dir.age\"",
        ].join("\n"))
        assert.deepEqual(found, [
            `secrets.a.source: ${join(h.dotfiles, "secrets", "missing.age")} does not exist `
                + `(relative sources are taken from the config file's folder, ${h.dotfiles})`,
            `secrets.b.source: ${join(h.dotfiles, "secrets", "dir.age")} is not a regular file`,
        ])
    })
})

describe("recipients", () => {
    test("bad recipients are errors with their key path", async () => {
        const good = ageRecipient()
        const found = await problems("homeage.yaml", [
            `recipients: [${good}, age1notarecipient]`,
            "secrets:",
            "  a:",
            "    source: secrets/a.age",
            `    recipients: ["ssh-ed25519 AAAAnotbase64", ${good}]`,
        ].join("\n"))
        assert.equal(found.length, 2)
        assert.match(found[0] ?? "", /^recipients\[1\]: \S/)
        assert.match(found[1] ?? "", /^secrets\.a\.recipients\[0\]: \S/)
        for (const line of found) {
            assert.ok(!line.includes(`${line.split(":")[0] ?? ""}: ${line.split(":")[0] ?? ""}`),
                `the key path is not repeated: ${line}`)
        }
    })
})

describe("all at once", () => {
    test("every error of a file is reported in one run, in file order", async () => {
        const env = environment({ HOME: h.home, USER: "alice" })
        const found = await problems("homeage.yaml", [
            "runtimeDir: $XDG_RUNTIME_DIR/secrets",
            "identityPaths: [relative/key]",
            "unknownOption: 1",
            "generationsToKeep: 0",
            "secrets:",
            "  gh-token:",
            "    source: secrets/missing.age",
            "    mode: 0400",
            "    symlinks: [gh/token]",
            "    copies: [$NOPE/token]",
            "  ../escape:",
            "    source: secrets/a.age",
            "  good:",
            "    source: secrets/a.age",
        ].join("\n"), env)
        const keys = found.map((line) => line.slice(0, line.indexOf(": ")))
        assert.deepEqual(keys, [
            "runtimeDir",
            "identityPaths[0]",
            "unknownOption",
            "generationsToKeep",
            "secrets.gh-token.source",
            "secrets.gh-token.mode",
            "secrets.gh-token.symlinks[0]",
            "secrets.gh-token.copies[0]",
            "secrets.\"../escape\"",
        ])
    })
})

describe("files", () => {
    test("an unknown extension is a usage error", async () => {
        const file = h.write("homeage.ini", "")
        const err = await usageError(() => loadConfig(file, h.env))
        assert.match(err.message, /homeage\.ini: unknown format; name it \*\.toml, \*\.yaml/)
    })

    test("a missing config file is a usage error naming it", async () => {
        const file = join(h.dotfiles, "nothing.toml")
        const err = await usageError(() => loadConfig(file, h.env))
        assert.equal(err.message, `config file ${file} does not exist; name an existing file `
            + "with --config FILE or $HOMEAGE_CONFIG, or run `homeage init` to write one")
    })
})
