import assert from "node:assert/strict"
import { spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { test } from "node:test"

import { configFileSchema, renderJsonSchema } from "../../src/config/schema.js"

/** The committed schema, from dist/test/config/ back to the repository root. */
const SCHEMA_FILE = fileURLToPath(new URL("../../../schema/homeage.schema.json", import.meta.url))
const GENERATOR = fileURLToPath(new URL("../../scripts/gen-schema.js", import.meta.url))

test("the committed JSON Schema is the one the zod schema generates", () => {
    assert.equal(readFileSync(SCHEMA_FILE, "utf8"), renderJsonSchema(),
        "schema/homeage.schema.json is stale: run `npm run schema` and commit it")
})

test("the generator's --check agrees that the schema is current", () => {
    const result = spawnSync(process.execPath, [GENERATOR, "--check"], { encoding: "utf8" })
    assert.equal(result.stderr, "")
    assert.equal(result.status, 0)
})

test("the JSON Schema allows $schema, forbids unknown keys and types mode as a string", () => {
    const schema = JSON.parse(renderJsonSchema()) as {
        $schema: string
        additionalProperties: boolean
        properties: Record<string, { additionalProperties?: unknown, propertyNames?: unknown }>
    }
    assert.equal(schema.$schema, "https://json-schema.org/draft/2020-12/schema")
    assert.equal(schema.additionalProperties, false)
    assert.deepEqual(schema.properties.$schema, {
        description: "The JSON Schema of this file, for editors.", type: "string",
    })

    const secrets = schema.properties.secrets as {
        propertyNames: { pattern: string }
        additionalProperties: {
            additionalProperties: boolean
            required: string[]
            properties: { mode: { type: string, pattern: string, default: string } }
        }
    }
    const secret = secrets.additionalProperties
    assert.equal(secret.additionalProperties, false)
    assert.deepEqual(secret.required, ["source"])
    assert.deepEqual(secret.properties.mode,
        { ...secret.properties.mode, type: "string", default: "0400" })

    const name = new RegExp(secrets.propertyNames.pattern)
    for (const good of ["a", "gh-token", "dir/sub.name", ".hidden", "x..y"]) {
        assert.ok(name.test(good), good)
    }
    for (const bad of ["", "..", ".", "a//b", "/a", "a/", "a/../b", "a b", "a/./b"]) {
        assert.ok(!name.test(bad), bad)
    }
})

test("the zod schema accepts a $schema key and rejects unknown keys", () => {
    assert.ok(configFileSchema.safeParse({ $schema: "x.json" }).success)
    assert.ok(!configFileSchema.safeParse({ $schemas: "x.json" }).success)
    assert.ok(!configFileSchema.safeParse({ secrets: { a: { source: "x", $schema: "y" } } })
        .success)
})
