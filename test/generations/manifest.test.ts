import assert from "node:assert/strict"
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterEach, beforeEach, test } from "node:test"

import { OperationError } from "../../src/errors.js"
import { readGeneration, writeGeneration } from "../../src/generations/generations.js"
import {
    type Manifest, manifestValidations, parseManifest, serializeManifest,
} from "../../src/generations/manifest.js"
import { type StatePaths, statePaths } from "../../src/generations/state.js"

const FILE = "/state/generations/1.json"

const DAMAGED = `the manifest ${FILE} is damaged; run homeage activate to write a new generation`

function manifest(): Manifest {
    return {
        version: 1,
        generation: 1,
        created: "2025-01-02T03:04:05.000Z",
        configFile: "/home/alice/dotfiles/homeage.toml",
        runtimeDir: "/run/user/1000/secrets",
        installationType: "activation",
        allowPersistentRuntimeDir: false,
        identityPaths: ["/home/alice/.ssh/id_ed25519"],
        createdFolders: ["/home/alice/.config/gh"],
        secrets: [{
            name: "gh-token",
            source: "/home/alice/dotfiles/secrets/gh-token.age",
            storeHash: "ab".repeat(32),
            path: "/run/user/1000/secrets/gh-token",
            mode: 0o400,
            owner: null,
            group: null,
            uid: null,
            gid: null,
            symlinks: ["/home/alice/.config/gh/token"],
            copies: [],
            plaintextHash: "hmac-sha256:00ff",
        }],
    }
}

/** What writeGeneration is given: a manifest without its number. */
function draft(): Omit<Manifest, "generation"> {
    const m: Partial<Manifest> = manifest()
    delete m.generation
    return m as Omit<Manifest, "generation">
}

/** The manifest file text an earlier homeage wrote: no digest. */
function withoutDigest(m: Manifest): string {
    return `${JSON.stringify(m, null, 2)}\n`
}

/** The error `parseManifest` throws for `text`. */
async function parseError(text: string): Promise<OperationError> {
    try {
        await parseManifest(text, FILE)
    } catch (err) {
        assert.ok(err instanceof OperationError, `expected an OperationError, got ${String(err)}`)
        return err
    }
    assert.fail("the manifest was accepted")
}

let root: string
let paths: StatePaths

beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "homeage-manifest-"))
    paths = statePaths({ XDG_STATE_HOME: root })
})

afterEach(() => {
    rmSync(root, { recursive: true, force: true })
})

test("a manifest is written with a digest of its body as its last key", () => {
    const text = serializeManifest(manifest())
    const lines = text.split("\n")

    assert.match(lines[lines.length - 3] ?? "", /^ {2}"digest": "sha256:[0-9a-f]{64}"$/)
    assert.equal(lines[lines.length - 2], "}")
    assert.equal(lines[lines.length - 1], "")
    const { digest, ...body } = JSON.parse(text) as Manifest & { digest: string }
    assert.deepEqual(body, manifest())
    assert.ok(digest.startsWith("sha256:"))
})

test("an intact manifest is read without running the schema", async () => {
    const text = serializeManifest(manifest())
    const before = manifestValidations()

    assert.deepEqual(await parseManifest(text, FILE), manifest())
    assert.equal(manifestValidations(), before)
})

test("a manifest without a digest (an earlier version's) still loads, through the schema",
    async () => {
        const before = manifestValidations()

        assert.deepEqual(await parseManifest(withoutDigest(manifest()), FILE), manifest())
        assert.equal(manifestValidations(), before + 1)
    })

test("a hand-edited manifest that is still valid loads, through the schema", async () => {
    const edited = serializeManifest(manifest()).replace("\"mode\": 256", "\"mode\": 384")
    const before = manifestValidations()

    const read = await parseManifest(edited, FILE)
    assert.equal(read.secrets[0]?.mode, 0o600)
    assert.equal(manifestValidations(), before + 1)
    assert.ok(!("digest" in read))
})

test("a tampered manifest fails with the same precise error as without a digest", async () => {
    const bad = { ...manifest(), runtimeDir: "relative/secrets" }
    const tampered = serializeManifest(manifest()).replace(
        "\"runtimeDir\": \"/run/user/1000/secrets\"", "\"runtimeDir\": \"relative/secrets\"")
    assert.notEqual(tampered, serializeManifest(manifest()))

    const withDigest = await parseError(tampered)
    const old = await parseError(withoutDigest(bad))

    assert.equal(withDigest.message, DAMAGED)
    assert.deepEqual(withDigest.problems, [
        "runtimeDir: Invalid string: must start with \"/\"",
    ])
    assert.deepEqual(withDigest.problems, old.problems)
})

test("a digest does not vouch for another format version", async () => {
    const future = serializeManifest({ ...manifest(), version: 2 } as unknown as Manifest)

    const err = await parseError(future)
    assert.equal(err.message, DAMAGED)
    assert.deepEqual(err.problems, ["version: Invalid input: expected 1"])
})

test("a digest of the wrong kind is no digest: the schema decides", async () => {
    const text = withoutDigest({ ...manifest(), digest: 42 } as unknown as Manifest)
    const before = manifestValidations()

    assert.deepEqual(await parseManifest(text, FILE), manifest())
    assert.equal(manifestValidations(), before + 1)
})

test("a manifest that is not JSON is refused as before", async () => {
    const err = await parseError(serializeManifest(manifest()).slice(0, 40))

    assert.equal(err.message, `the manifest ${FILE} is not valid JSON; ` +
        "run homeage activate to write a new generation")
})

test("writeGeneration validates before writing, and the written file reads back as is",
    async () => {
        const before = manifestValidations()

        const written = await writeGeneration(paths, draft())
        assert.equal(manifestValidations(), before + 1)
        const file = join(paths.generations, "1.json")
        assert.equal(statSync(file).mode & 0o777, 0o600)
        assert.equal(readFileSync(file, "utf8"), serializeManifest(written))

        assert.deepEqual(await readGeneration(paths, 1), written)
        assert.equal(manifestValidations(), before + 1)
    })

test("writeGeneration refuses an invalid manifest and writes nothing", async () => {
    const bad = { ...draft(), createdFolders: ["relative"] }

    await assert.rejects(writeGeneration(paths, bad), (err: unknown) => {
        assert.ok(err instanceof OperationError)
        assert.match(err.message, /made an invalid manifest for .*1\.json and did not write it/)
        assert.deepEqual(err.problems, ["createdFolders.0: Invalid string: must start with \"/\""])
        return true
    })
    assert.deepEqual(readdirSync(paths.generations), [])
})

test("an old manifest file in a state dir is read through the schema", async () => {
    await writeGeneration(paths, draft())
    writeFileSync(join(paths.generations, "1.json"), withoutDigest(manifest()))
    const before = manifestValidations()

    assert.deepEqual(await readGeneration(paths, 1), manifest())
    assert.equal(manifestValidations(), before + 1)
})
