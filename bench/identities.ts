/**
 * The per-identity rows: what unwrapping one file key costs, in-process,
 * through the age layer, for X25519, ssh-ed25519 and ssh-rsa (4096 bits),
 * with Go age's whole-process decrypt of the same file as a reference.
 */
import { readFile, writeFile } from "node:fs/promises"

import { loadIdentities } from "../src/age/index.js"
import { loadedIdentities } from "../src/age/identities.js"
import { headerMac, readHeader, sameMac } from "../src/age/format.js"
import type { Header } from "../src/age/format.js"
import { ByteReader, bytesSource } from "../src/age/reader.js"
import { formatSeconds, median, sideBySide } from "./measure.js"
import type { Progress } from "./measure.js"
import type { BenchOptions } from "./options.js"
import { run } from "./processes.js"
import type { Row } from "./table.js"
import type { Workspace } from "./workspace.js"

/** Bits of the RSA key measured. */
const RSA_BITS = 4096

/** Unwraps per batch at least, however slow one is. */
const MIN_OPS_PER_BATCH = 3

/** Unwraps per batch at most, however fast one is. */
const MAX_OPS_PER_BATCH = 100_000

/** Untimed unwraps before the batches (lazy compilation, key caches). */
const WARM_UP_OPS = 3

/** One identity kind: its identity file and a small file encrypted to it. */
interface IdentityFixture {
    kind: string
    identityFile: string
    encrypted: string
}

/** Measures the per-identity rows. */
export async function identityRows(
    ws: Workspace, options: BenchOptions, progress: Progress,
): Promise<Row[]> {
    progress(`making identities (ssh-keygen ed25519 and rsa ${RSA_BITS}) and small files`)
    const fixtures = await makeFixtures(ws)

    const rows: Row[] = []
    for (const fixture of fixtures) {
        const perOp = await unwrapSeconds(fixture, options)
        progress(`unwrap ${fixture.kind}: ${formatSeconds(perOp)} per op`)

        const [age] = await sideBySide(`age -d ${fixture.kind}`, [{
            label: "age -d process",
            runs: options.runs,
            warmUp: true,
            measure: async () => (await run({ program: "age",
                args: ["-d", "-i", fixture.identityFile, fixture.encrypted] })).seconds,
        }], options.rowBudgetSeconds, progress)
        rows.push({
            section: "per identity",
            what: `unwrap file key, ${fixture.kind}`,
            homeage: `${formatSeconds(perOp)}/op in-process`,
            baseline: `age -d process (reference): ${formatSeconds(median(age?.seconds ?? []))}`,
            ratio: "",
            target: "",
            result: "",
            runs: `${options.runs} batches + ${age?.seconds.length ?? 0}`,
        })
    }
    return rows
}

async function makeFixtures(ws: Workspace): Promise<IdentityFixture[]> {
    const plain = ws.path("identity-plain.txt")
    await writeFile(plain, "a small secret\n")

    const x25519 = ws.path("x25519.age")
    await run({ program: "age", args: ["-r", ws.recipient, "-o", x25519, plain] })

    const fixtures: IdentityFixture[] = [
        { kind: "X25519", identityFile: ws.identityFile, encrypted: x25519 },
    ]
    for (const [kind, keyArgs] of [
        ["ssh-ed25519", ["-t", "ed25519"]],
        [`ssh-rsa-${RSA_BITS}`, ["-t", "rsa", "-b", `${RSA_BITS}`]],
    ] as const) {
        const key = ws.path(`id_${kind}`)
        await run({ program: "ssh-keygen", args: [...keyArgs, "-N", "", "-q", "-C", "bench",
            "-f", key] })
        const encrypted = ws.path(`${kind}.age`)
        await run({ program: "age", args: ["-R", `${key}.pub`, "-o", encrypted, plain] })
        fixtures.push({ kind, identityFile: key, encrypted })
    }
    return fixtures
}

/**
 * The median time of one unwrap, in seconds: `options.runs` batches, each
 * repeating the unwrap of the same header for `options.unwrapBatchSeconds`.
 * The first unwrap is checked against the header MAC, so a wrong key cannot
 * pass for a fast one.
 */
async function unwrapSeconds(fixture: IdentityFixture, options: BenchOptions): Promise<number> {
    const identities = loadedIdentities(await loadIdentities([fixture.identityFile], {
        warn: () => undefined,
    }))
    const header = await headerOf(fixture.encrypted)
    const unwrap = (): Promise<Uint8Array> => identities.unwrap(header.stanzas, fixture.kind)

    const fileKey = await unwrap()
    if (!sameMac(headerMac(fileKey, header.macInput), header.mac)) {
        throw new Error(`unwrap ${fixture.kind}: the file key does not match the header MAC`)
    }
    for (let i = 0; i < WARM_UP_OPS; i++) await unwrap()

    const batches: number[] = []
    const budget = BigInt(Math.round(options.unwrapBatchSeconds * 1e9))
    for (let b = 0; b < options.runs; b++) {
        const started = process.hrtime.bigint()
        let ops = 0
        let elapsed = 0n
        while (ops < MIN_OPS_PER_BATCH || (elapsed < budget && ops < MAX_OPS_PER_BATCH)) {
            await unwrap()
            ops++
            elapsed = process.hrtime.bigint() - started
        }
        batches.push(Number(elapsed) / 1e9 / ops)
    }
    return median(batches)
}

async function headerOf(file: string): Promise<Header> {
    return readHeader(new ByteReader(bytesSource(await readFile(file))))
}
