/**
 * FileSource, the streaming reader of input files: what it keeps in memory.
 * Encryption reads a file straight through and hands no piece back; the
 * source must then let every piece go, or encrypting a file costs memory in
 * proportion to its size.
 */
import assert from "node:assert/strict"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, test } from "node:test"
import { setImmediate as nextTurn } from "node:timers/promises"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"

import { openInput } from "../../src/age/index.js"

setFlagsFromString("--expose-gc")
const collectGarbage = runInNewContext("gc") as () => void

const dir = mkdtempSync(join(tmpdir(), "homeage-reader-"))
after(() => { rmSync(dir, { recursive: true, force: true }) })

/** MiB in the test file: many 1 MiB pieces. */
const FILE_MIB = 16

test("a file read straight through keeps none of its pieces alive", async () => {
    const file = join(dir, "input")
    writeFileSync(file, Buffer.alloc(FILE_MIB * 1024 * 1024, 7))

    const source = await openInput(file)
    const pieces: WeakRef<ArrayBufferLike>[] = []
    let bytes = 0
    for await (const piece of source) {
        pieces.push(new WeakRef(piece.buffer))
        bytes += piece.length
    }
    assert.equal(bytes, FILE_MIB * 1024 * 1024)
    assert.ok(pieces.length >= FILE_MIB)

    // WeakRefs hold their target until the current job ends.
    await nextTurn()
    collectGarbage()
    const alive = pieces.filter((piece) => piece.deref() !== undefined).length
    assert.ok(alive <= 1, `${alive} of ${pieces.length} pieces are still in memory`)
})
