/**
 * Writes schema/homeage.schema.json, the JSON Schema of the config file, from
 * the zod schema in src/config/schema.ts. With `--check`, writes nothing and
 * exits 1 when the committed file is not current.
 * Run after building: `node dist/scripts/gen-schema.js [--check]`.
 */
import { readFileSync, writeFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

import { renderJsonSchema } from "../src/config/schema.js"

/** The schema file, from dist/scripts/ back to the repository root. */
const SCHEMA_FILE = fileURLToPath(new URL("../../schema/homeage.schema.json", import.meta.url))

function current(): string | undefined {
    try {
        return readFileSync(SCHEMA_FILE, "utf8")
    } catch {
        return undefined
    }
}

const wanted = renderJsonSchema()
if (process.argv.includes("--check")) {
    if (current() !== wanted) {
        process.stderr.write(`${SCHEMA_FILE} is stale; run npm run schema\n`)
        process.exitCode = 1
    }
} else if (current() !== wanted) {
    writeFileSync(SCHEMA_FILE, wanted)
    process.stdout.write(`wrote ${SCHEMA_FILE}\n`)
}
