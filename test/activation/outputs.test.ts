/**
 * Comparing an output file with the keyed hash homeage recorded: any size
 * (read in chunks), symlinks never followed, a missing file no match.
 */
import assert from "node:assert/strict"
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, test } from "node:test"

import { fileMatches } from "../../src/activation/outputs.js"
import { keyedHash } from "../../src/generations/keyed-hash.js"

const dir = mkdtempSync(join(tmpdir(), "homeage-outputs-"))
after(() => {
    rmSync(dir, { recursive: true, force: true })
})

const key = randomBytes(32)

test("a file larger than 64 MiB matches its keyed hash, and not once a byte changed", () => {
    const data = randomBytes(65 * 1024 * 1024 + 7)
    const file = join(dir, "big")
    writeFileSync(file, data)
    const recorded = keyedHash(key, data)

    assert.equal(fileMatches(file, key, recorded), true)
    data[data.length - 1] = (data[data.length - 1] ?? 0) ^ 1
    writeFileSync(file, data)
    assert.equal(fileMatches(file, key, recorded), false)
})

test("empty and small files match; a symlink to a matching file and a missing file do not", () => {
    for (const data of [Buffer.alloc(0), Buffer.from("token\n")]) {
        const file = join(dir, `small-${data.length}`)
        writeFileSync(file, data)
        assert.equal(fileMatches(file, key, keyedHash(key, data)), true)

        const link = join(dir, `link-${data.length}`)
        symlinkSync(file, link)
        assert.equal(fileMatches(link, key, keyedHash(key, data)), false)
    }
    assert.equal(fileMatches(join(dir, "missing"), key, keyedHash(key, Buffer.alloc(0))), false)
})
