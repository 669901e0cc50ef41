import assert from "node:assert/strict"
import { writeFileSync } from "node:fs"
import { afterEach, beforeEach, describe, test } from "node:test"

import { loadConfig } from "../../src/config/index.js"
import { type Home, makeHome, usageError } from "./fixtures.js"

let h: Home

beforeEach(() => {
    h = makeHome()
})

afterEach(() => {
    h.cleanup()
})

/** The single problem of a file with a syntax error, after checking the message. */
async function syntax(name: string, text: string, format: string): Promise<string> {
    const file = h.write(name, text)
    const err = await usageError(() => loadConfig(file, h.env))
    assert.equal(err.exitCode, 2)
    const prefix = `config file ${file} is not valid ${format}`
    if (err.problems.length === 0) {
        assert.ok(err.message.startsWith(`${prefix}: ${file}:`), err.message)
        return err.message.slice(prefix.length + 2 + file.length)
    }
    assert.equal(err.message, `${prefix} (${err.problems.length} errors)`)
    return (err.problems[0] ?? "").slice(file.length)
}

describe("syntax errors name the file, line and column", () => {
    test("TOML", async () => {
        assert.equal(await syntax("homeage.toml", "a = 1\n[secrets.x]\nsource = \n", "TOML"),
            ":3:10: invalid value")
    })

    test("TOML: an unquoted 0400 mode says to quote it", async () => {
        const problem = await syntax("homeage.toml",
            "[secrets.x]\nsource = \"a.age\"\nmode = 0400\n", "TOML")
        assert.match(problem, /^:3:8: .*leading zero \(a mode is a quoted string: mode = "0400"\)$/)
    })

    test("TOML: a key given twice", async () => {
        const problem = await syntax("homeage.toml", "runtimeDir = \"/a\"\nruntimeDir = \"/b\"\n",
            "TOML")
        assert.match(problem, /^:2:\d+: /)
    })

    test("YAML", async () => {
        const problem = await syntax("homeage.yaml", "secrets:\n  x:\n    source: [a\n", "YAML")
        assert.match(problem, /^:4:1: /)
    })

    test("YAML: a key given twice", async () => {
        const problem = await syntax("homeage.yml", "runtimeDir: /a\nruntimeDir: /b\n", "YAML")
        assert.equal(problem, ":2:1: Map keys must be unique")
    })

    test("JSON: an unexpected token", async () => {
        assert.equal(await syntax("homeage.json", "{\n  \"secrets\": {\n    \"x\": }\n}\n", "JSON"),
            ":3:10: expected a value")
    })

    test("JSON: a trailing comma and a missing colon", async () => {
        assert.equal(await syntax("homeage.json", "{\"a\": [1, 2,]}", "JSON"),
            ":1:13: expected a value")
        assert.equal(await syntax("homeage.json", "{\n\"a\" 1}", "JSON"),
            ":2:5: expected :")
    })

    test("JSON: a truncated file and an empty file", async () => {
        assert.equal(await syntax("homeage.json", "{\"a\": [1,\n", "JSON"),
            ":2:1: unexpected end of file")
        assert.equal(await syntax("homeage.json", "", "JSON"), ":1:1: unexpected end of file")
    })

    test("JSON: text after the value", async () => {
        assert.equal(await syntax("homeage.json", "{}\n{}", "JSON"),
            ":2:1: expected the end of the file")
    })
})

test("a byte-order mark at the start is accepted in every format", async () => {
    const files: [string, string][] = [
        ["homeage.toml", ""], ["homeage.yaml", ""], ["homeage.json", "{}"],
    ]
    for (const [name, text] of files) {
        const config = await loadConfig(h.write(name, `\uFEFF${text}`), h.env)
        assert.deepEqual(config.secrets, [])
    }
})

test("bytes that are not UTF-8 are refused, naming the file and the line", async () => {
    const file = h.write("homeage.toml", "")
    writeFileSync(file, Buffer.concat([
        Buffer.from("[secrets.a]\nsource = \"a.age\"\nsymlinks = [\"~/caf"),
        Buffer.from([0xe9]), Buffer.from("\"]\n"),
    ]))
    const err = await usageError(() => loadConfig(file, h.env))
    assert.equal(err.message, `config file ${file}: line 3 is not UTF-8 text; save the file ` +
        "as UTF-8")
})
