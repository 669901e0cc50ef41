/**
 * Fuzzing (issue 7): property-based tests with fast-check over the parsers a
 * hostile or damaged file reaches — the age header and its stanzas, armor,
 * the payload, identity files, SSH private keys (openssh-key-v1, PKCS#1 and
 * PKCS#8 PEM) and the config loader — seeded with real files made by Go
 * `age`, `age-keygen` and `ssh-keygen` and mutated (bits flipped, bytes set,
 * inserted, deleted, duplicated, truncated, format tokens spliced in). Every
 * call is bounded in time and must end in a result or a clean homeage error
 * (UsageError, OperationError, DecryptError) whose message holds no
 * plaintext or key material. A sample drives the real CLI (`decrypt`,
 * `check`): exit 1 or 2, never a stack trace or an internal error.
 *
 * The fast-check seed is printed with any failure; set RELIABILITY_FUZZ_SEED
 * to replay it.
 */
import assert from "node:assert/strict"
import { execFileSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { after, before, test } from "node:test"

import fc from "fast-check"

import { decrypt, identitiesFromBytes, loadIdentities, type IdentitySet } from
    "../../src/age/index.js"
import { readHeaderStanzas } from "../../src/age/recipient-match.js"
import { environment, loadConfig } from "../../src/config/index.js"
import { HomeageError } from "../../src/errors.js"
import { ageIdentityNeedles, plaintextNeedles, sshKeyNeedles, token, type Needle } from
    "./leaks.js"
import { looksLikeCrash, runToEnd } from "./proc.js"
import { Tally } from "./results.js"

/** How long one call may take before it counts as a hang (ms). */
const CALL_LIMIT_MS = 20_000

/** Cases per target (decrypt, identity and config targets run this many per seed). */
const RUNS = Number(process.env.RELIABILITY_FUZZ_RUNS ?? "300")

/** Mutated files driven through the real CLI. */
const CLI_SAMPLES = 24

const SEED = Number(process.env.RELIABILITY_FUZZ_SEED ?? String(Date.now() % 2 ** 31))

const tally = new Tally("fuzz", 4, "cases")
let dir: string
let identities: IdentitySet
const files = new Map<string, Buffer>()
const needles: Needle[] = []
let plaintext: string

/** Format tokens spliced into files, so mutations reach deeper than random bytes do. */
const TOKENS = ["\n", "\r\n", " ", "-> ", "--- ", "-> X25519 ", "-> scrypt ", "-> ssh-rsa ",
    "age-encryption.org/v1\n", "-----BEGIN AGE ENCRYPTED FILE-----\n",
    "-----END AGE ENCRYPTED FILE-----\n", "=", "==", "AAAA", "\u0000", "\uFEFF", "é",
    "AGE-SECRET-KEY-1", "# comment\n", "-----BEGIN OPENSSH PRIVATE KEY-----\n",
    "[secrets.x]\n", "source = \"x\"\n", "mode = 400\n", "\"", "{", "}", "~/", "$HOME",
    "${UNSET}", "../", "0400", "- ", ": ", "[[", "]]", "\t"]

type Mutation =
    | { kind: "flip", at: number, bit: number }
    | { kind: "set", at: number, byte: number }
    | { kind: "insert", at: number, bytes: Uint8Array }
    | { kind: "delete", at: number, length: number }
    | { kind: "truncate", at: number }
    | { kind: "duplicate", at: number, length: number }
    | { kind: "token", at: number, text: string }

const position = fc.oneof(fc.nat({ max: 400 }), fc.nat())

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.record({ kind: fc.constant("flip" as const), at: position, bit: fc.nat({ max: 7 }) }),
    fc.record({ kind: fc.constant("set" as const), at: position, byte: fc.nat({ max: 255 }) }),
    fc.record({ kind: fc.constant("insert" as const), at: position,
        bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant("delete" as const), at: position,
        length: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ kind: fc.constant("truncate" as const), at: position }),
    fc.record({ kind: fc.constant("duplicate" as const), at: position,
        length: fc.integer({ min: 1, max: 80 }) }),
    fc.record({ kind: fc.constant("token" as const), at: position,
        text: fc.constantFrom(...TOKENS) }),
)

const mutations = fc.array(mutation, { minLength: 1, maxLength: 4 })

/** Applies mutations to a copy of `seed`. */
export function mutate(seed: Uint8Array, list: Mutation[]): Buffer {
    let data = Buffer.from(seed)
    for (const m of list) {
        const at = data.length === 0 ? 0 : m.at % (data.length + 1)
        const head = data.subarray(0, at)
        switch (m.kind) {
            case "flip":
                if (at < data.length) data[at] = (data[at] ?? 0) ^ (1 << m.bit)
                break
            case "set":
                if (at < data.length) data[at] = m.byte
                break
            case "insert":
                data = Buffer.concat([head, m.bytes, data.subarray(at)])
                break
            case "delete":
                data = Buffer.concat([head, data.subarray(at + m.length)])
                break
            case "truncate":
                data = Buffer.from(head)
                break
            case "duplicate":
                data = Buffer.concat([data.subarray(0, at + m.length), data.subarray(at)])
                break
            case "token":
                data = Buffer.concat([head, Buffer.from(m.text), data.subarray(at)])
                break
        }
    }
    return data
}

/** Resolves with `work`, or rejects when it has not settled within the limit. */
async function bounded<T>(work: () => Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined
    const limit = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
            reject(new Error(`${what} did not finish within ${CALL_LIMIT_MS} ms`))
        }, CALL_LIMIT_MS)
    })
    try {
        return await Promise.race([work(), limit])
    } finally {
        clearTimeout(timer)
    }
}

/** Asserts that `err` is a clean homeage error that leaks nothing. */
function assertClean(err: unknown, what: string): void {
    if (!(err instanceof HomeageError)) {
        const name = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
        throw new Error(`${what}: not a homeage error: ${name}`)
    }
    const text = [err.message, ...err.problems].join("\n")
    for (const needle of needles) {
        if (text.includes(needle.bytes.toString())) {
            throw new Error(`${what}: the error message holds ${needle.label}`)
        }
    }
}

function shellOut(file: string, args: string[], input?: string): string {
    return execFileSync(file, args, { encoding: "utf8", input })
}

before(async () => {
    dir = mkdtempSync(join(tmpdir(), "homeage-fuzz-"))
    const id = join(dir, "identity.txt")
    execFileSync("age-keygen", ["-o", id], { stdio: "ignore" })
    const recipient = shellOut("age-keygen", ["-y", id]).trim()
    for (const [name, args] of [
        ["ed25519", ["-t", "ed25519"]], ["rsa", ["-t", "rsa", "-b", "2048"]],
        ["rsa-pem", ["-t", "rsa", "-b", "2048", "-m", "PEM"]],
        ["rsa-pkcs8", ["-t", "rsa", "-b", "2048", "-m", "PKCS8"]],
    ] as const) {
        execFileSync("ssh-keygen", ["-q", "-N", "", "-C", "fuzz", ...args, "-f",
            join(dir, name)])
        files.set(`key ${name}`, readFileSync(join(dir, name)))
        needles.push(...sshKeyNeedles(`${name} key`, join(dir, name)))
    }
    const passphrase = token("fuzz-passphrase")
    execFileSync("ssh-keygen", ["-q", "-N", passphrase, "-a", "4", "-t", "ed25519", "-C", "fuzz",
        "-f", join(dir, "protected")])
    files.set("key protected ed25519", readFileSync(join(dir, "protected")))
    files.set("identity X25519", readFileSync(id))
    needles.push(...ageIdentityNeedles("X25519 identity", id))
    needles.push({ label: "passphrase", bytes: Buffer.from(passphrase) })

    plaintext = `${token("fuzz-plaintext")}\n`.repeat(3000)
    needles.push(...plaintextNeedles("plaintext", plaintext.slice(0, 40)))
    const encrypt = (name: string, args: string[]): void => {
        files.set(name, execFileSync("age", ["-e", ...args], { input: plaintext }))
    }
    encrypt("age X25519", ["-r", recipient])
    encrypt("age X25519 armored", ["-a", "-r", recipient])
    encrypt("age ssh-ed25519", ["-R", join(dir, "ed25519.pub")])
    encrypt("age ssh-rsa armored", ["-a", "-R", join(dir, "rsa.pub")])
    encrypt("age three recipients", ["-r", recipient, "-R", join(dir, "ed25519.pub"),
        "-R", join(dir, "rsa-pem.pub")])
    identities = await loadIdentities([id, join(dir, "ed25519"), join(dir, "rsa-pem")],
        { warn: () => undefined })

    mkdirSync(join(dir, "config", "secrets"), { recursive: true })
    writeFileSync(join(dir, "config", "secrets", "a.age"), files.get("age X25519") ?? "")
    files.set("config toml", Buffer.from(`identityPaths = ["${id}"]
runtimeDir = "/run/homeage-fuzz"
installationType = "activation"
recipients = ["${recipient}"]

[secrets.gh-token]
source = "secrets/a.age"
path = "gh/token"
mode = "0440"
symlinks = ["~/.config/gh/token", "$XDG_CONFIG_HOME/x"]
copies = ["~/.netrc"]
`))
    files.set("config yaml", Buffer.from(`identityPaths: ["${id}"]
runtimeDir: /run/homeage-fuzz
recipients:
  - ${recipient}
secrets:
  gh-token:
    source: secrets/a.age
    mode: "0400"
    symlinks: ["~/.config/gh/token"]
  sub/netrc:
    source: secrets/a.age
    copies: [~/.netrc]
`))
    files.set("config json", Buffer.from(JSON.stringify({
        identityPaths: [id], runtimeDir: "/run/homeage-fuzz", installationType: "systemd",
        secrets: { "a.b": { source: "secrets/a.age", symlinks: ["~/a"], owner: "root" } },
    }, null, 2)))
})

after(() => {
    tally.save()
    rmSync(dir, { recursive: true, force: true })
})

/** Runs one fast-check property over `seeds` and counts its cases in the tally. */
async function fuzz(
    label: string, seeds: string[], runs: number,
    body: (seed: string, data: Buffer) => Promise<void>,
): Promise<void> {
    const property = fc.asyncProperty(fc.constantFrom(...seeds), mutations, async (seed, list) => {
        const data = mutate(files.get(seed) ?? Buffer.alloc(0), list)
        await body(seed, data)
    })
    const details = await fc.check(property, { numRuns: runs * seeds.length, seed: SEED })
    const passed = details.failed ? details.numRuns - 1 : details.numRuns
    const failure = details.failed
        ? `${label}: seed ${SEED}, path ${details.counterexamplePath ?? "?"}: ` +
            String(details.errorInstance)
        : undefined
    tally.add(details.numRuns, passed, failure)
    assert.equal(failure, undefined)
}

const AGE_FILES = ["age X25519", "age X25519 armored", "age ssh-ed25519", "age ssh-rsa armored",
    "age three recipients"]

test("mutated age files: decrypt ends in the plaintext or a clean DecryptError", async () => {
    tally.checks("age header, stanzas, armor and payload (decrypt of mutated files by Go age: " +
        "X25519, ssh-ed25519, ssh-rsa, armored, three recipients)")
    await fuzz("decrypt", AGE_FILES, RUNS, async (seed, data) => {
        try {
            const out = await bounded(() => decrypt(data, identities, "fuzz.age"), seed)
            assert.equal(Buffer.from(out).toString(), plaintext, `${seed}: wrong plaintext`)
        } catch (err) {
            assertClean(err, seed)
        }
    })
})

test("mutated age files: the header reader of rekey/edit throws only plain errors",
    async () => {
        tally.checks("header stanza reader used by rekey and edit (no decryption)")
        await fuzz("readHeaderStanzas", AGE_FILES, Math.ceil(RUNS / 2), (seed, data) => {
            try {
                readHeaderStanzas(data)
            } catch (err) {
                const plain = err instanceof HomeageError
                    || (err instanceof Error && err.constructor === Error)
                assert.ok(plain, `${seed}: ${err instanceof Error ? err.name : "?"}: ${
                    err instanceof Error ? err.message : String(err)}`)
            }
            return Promise.resolve()
        })
    })

const KEY_FILES = ["identity X25519", "key ed25519", "key rsa", "key rsa-pem", "key rsa-pkcs8",
    "key protected ed25519"]

test("mutated identity and SSH key files load and decrypt, or fail cleanly", async () => {
    tally.checks("identity files (age-keygen) and SSH keys (ssh-keygen: ed25519, RSA " +
        "openssh-key-v1, PKCS#1 PEM, PKCS#8, passphrase-protected): load, then decrypt")
    const target: Record<string, string> = {
        "identity X25519": "age X25519", "key ed25519": "age ssh-ed25519",
        "key rsa": "age ssh-rsa armored", "key rsa-pem": "age three recipients",
        "key rsa-pkcs8": "age X25519", "key protected ed25519": "age ssh-ed25519",
    }
    await fuzz("identities", KEY_FILES, RUNS, async (seed, data) => {
        try {
            const set = identitiesFromBytes(data, "fuzz-key", {
                warn: () => undefined, passphrase: () => Promise.resolve(undefined),
            })
            const file = files.get(target[seed] ?? "") ?? Buffer.alloc(0)
            await bounded(() => decrypt(file, set, "fuzz.age"), seed)
        } catch (err) {
            assertClean(err, seed)
        }
    })
})

test("mutated config files load or fail with a UsageError", async () => {
    tally.checks("config loader (TOML, YAML, JSON)")
    const env = environment({ HOME: "/home/fuzz", USER: "fuzz", XDG_RUNTIME_DIR: "/run/user/1" })
    const extension: Record<string, string> = {
        "config toml": "toml", "config yaml": "yaml", "config json": "json",
    }
    let n = 0
    const seeds = ["config toml", "config yaml", "config json"]
    await fuzz("config", seeds, RUNS, async (seed, data) => {
        const file = join(dir, "config", `homeage-${++n}.${extension[seed] ?? "toml"}`)
        writeFileSync(file, data)
        try {
            await bounded(() => loadConfig(file, env), seed)
        } catch (err) {
            assertClean(err, seed)
            assert.equal((err as HomeageError).exitCode, 2, `${seed}: not a usage error`)
        } finally {
            rmSync(file, { force: true })
        }
    })
})

test("the CLI exits 1 or 2 without a stack trace on mutated files and configs", async () => {
    tally.checks("CLI sample: homeage decrypt and homeage check on mutated files, exit 1 or 2, " +
        "no stack trace, no internal error, no plaintext or key in the output")
    const rng = fc.sample(fc.tuple(fc.constantFrom(...AGE_FILES), mutations),
        { numRuns: CLI_SAMPLES, seed: SEED })
    for (const [i, [seed, list]] of rng.entries()) {
        const file = join(dir, `cli-${i}.age`)
        writeFileSync(file, mutate(files.get(seed) ?? Buffer.alloc(0), list))
        await tally.check(`decrypt ${seed} #${i}`, async () => {
            const r = await runToEnd(["decrypt", "-i", join(dir, "identity.txt"), "-i",
                join(dir, "ed25519"), "-i", join(dir, "rsa"), file], { env: { PATH: "/usr/bin" } })
            assert.ok(r.code === 0 || r.code === 1 || r.code === 2, `exit ${r.code}`)
            assert.ok(!looksLikeCrash(r.stderr), r.stderr)
            if (r.code === 0) assert.equal(r.stdout, plaintext)
            if (r.code !== 0) assert.ok(!r.stdout.includes(plaintext.slice(0, 40)))
        })
    }

    const configs = fc.sample(fc.tuple(fc.constantFrom("config toml", "config yaml"), mutations),
        { numRuns: CLI_SAMPLES / 2, seed: SEED })
    for (const [i, [seed, list]] of configs.entries()) {
        const file = join(dir, "config", `check-${i}.${seed.endsWith("toml") ? "toml" : "yaml"}`)
        writeFileSync(file, mutate(files.get(seed) ?? Buffer.alloc(0), list))
        await tally.check(`check ${seed} #${i}`, async () => {
            const r = await runToEnd(["check", "--config", file], {
                env: { PATH: "/usr/bin", HOME: dir, USER: "root", XDG_RUNTIME_DIR: dir },
            })
            assert.ok(r.code === 1 || r.code === 2, `exit ${r.code}: ${r.stderr}`)
            assert.ok(!looksLikeCrash(r.stderr), r.stderr)
        })
    }
    assert.deepEqual(tally.failureList(), [])
})
