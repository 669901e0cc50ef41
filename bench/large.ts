/**
 * The large-file rows: `homeage decrypt -o OUT` of a 64 MiB file, binary and
 * armored, against `age -d -o OUT` on the same file; and homeage's peak
 * memory while decrypting a 256 MiB file, above the peak of `--version`.
 */
import { createHash, randomBytes } from "node:crypto"
import { createReadStream, createWriteStream } from "node:fs"
import { rm } from "node:fs/promises"
import { once } from "node:events"

import {
    BYTES_PER_MIB, formatKiB, formatSeconds, formatThroughput, median, medianOf, sideBySide,
} from "./measure.js"
import type { Contender, Progress, Sample } from "./measure.js"
import type { BenchOptions } from "./options.js"
import { canMeasureMemory, GNU_TIME, peakMemoryKiB, run } from "./processes.js"
import type { Command } from "./processes.js"
import { ratioText, runsText, speedUp, verdict } from "./table.js"
import type { Row, Target } from "./table.js"
import { HOMEAGE_BIN } from "./workspace.js"
import type { Workspace } from "./workspace.js"

/** Bytes of random plaintext written per step while making a fixture (4 MiB). */
const WRITE_PIECE_BYTES = 4 * BYTES_PER_MIB

/** homeage must reach this share of Go age's decrypt throughput. */
const THROUGHPUT_TARGET: Target = {
    kind: "faster", factor: 0.8, text: ">= 0.8x age's MB/s",
}

/** Most memory homeage may use above its `--version` baseline while decrypting (64 MiB, in KiB). */
const MEMORY_LIMIT_KIB = 64 * 1024

/** An encrypted fixture and the SHA-256 of its plaintext. */
interface LargeFixture {
    file: string
    bytes: number
    sha256: string
}

/** Measures the large-file rows; `notes` gets what does not fit in a cell. */
export async function largeRows(
    ws: Workspace, options: BenchOptions, progress: Progress, notes: string[],
): Promise<Row[]> {
    const size = options.largeMiB * BYTES_PER_MIB
    progress(`making a ${options.largeMiB} MiB file, encrypted with age -r and age -r -a`)
    const plain = ws.path("large.bin")
    const digest = await writeRandomFile(plain, size)
    const binary = await encrypt(ws, plain, ws.path("large.age"), false, size, digest)
    const armored = await encrypt(ws, plain, ws.path("large.armor.age"), true, size, digest)
    await rm(plain)

    const rows = [
        await decryptRow(ws, binary, "binary", options, progress),
        await decryptRow(ws, armored, "armored", options, progress),
    ]
    if (!canMeasureMemory()) {
        notes.push(`Peak memory not measured: ${GNU_TIME} is missing (Debian package time).`)
        return rows
    }
    rows.push(await memoryRow(ws, options, progress, notes))
    return rows
}

async function writeRandomFile(path: string, bytes: number): Promise<string> {
    const hash = createHash("sha256")
    const out = createWriteStream(path)
    for (let written = 0; written < bytes; written += WRITE_PIECE_BYTES) {
        const piece = randomBytes(Math.min(WRITE_PIECE_BYTES, bytes - written))
        hash.update(piece)
        if (!out.write(piece)) await once(out, "drain")
    }
    out.end()
    await once(out, "finish")
    return hash.digest("hex")
}

async function encrypt(
    ws: Workspace, plain: string, file: string, armor: boolean, bytes: number, sha256: string,
): Promise<LargeFixture> {
    const flags = armor ? ["-a"] : []
    await run({ program: "age", args: ["-r", ws.recipient, ...flags, "-o", file, plain] })
    return { file, bytes, sha256 }
}

async function fileSha256(path: string): Promise<string> {
    const hash = createHash("sha256")
    for await (const piece of createReadStream(path)) hash.update(piece as Buffer)
    return hash.digest("hex")
}

function homeageDecrypt(ws: Workspace, fixture: LargeFixture, out: string): Command {
    return {
        program: process.execPath,
        args: [HOMEAGE_BIN, "decrypt", "-i", ws.identityFile, "-o", out, fixture.file],
        env: { PATH: process.env.PATH, HOME: ws.path(), NO_COLOR: "1" },
    }
}

function ageDecrypt(ws: Workspace, fixture: LargeFixture, out: string): Command {
    return { program: "age", args: ["-d", "-i", ws.identityFile, "-o", out, fixture.file] }
}

async function decryptRow(
    ws: Workspace, fixture: LargeFixture, kind: string, options: BenchOptions,
    progress: Progress,
): Promise<Row> {
    const contender = (
        label: string, outName: string, command: (out: string) => Command,
    ): Contender => {
        const out = ws.memory(outName)
        return {
            label,
            runs: options.runs,
            prepare: () => rm(out, { force: true }),
            measure: async () => (await run(command(out))).seconds,
            verify: async () => {
                const sha = await fileSha256(out)
                await rm(out, { force: true })
                if (sha !== fixture.sha256) throw new Error(`${label}: wrong plaintext in ${out}`)
            },
        }
    }
    const row = `decrypt ${options.largeMiB} MiB ${kind}`
    const [homeage, age] = await sideBySide(row, [
        contender("homeage decrypt", "homeage.out", (out) => homeageDecrypt(ws, fixture, out)),
        contender("age -d", "age.out", (out) => ageDecrypt(ws, fixture, out)),
    ], options.rowBudgetSeconds, progress) as [Sample, Sample]
    await rm(ws.memory("homeage.out"), { force: true })
    await rm(ws.memory("age.out"), { force: true })

    const speed = speedUp(homeage, age)
    return {
        section: "large file",
        what: `decrypt -o, ${options.largeMiB} MiB ${kind}`,
        homeage: `${formatThroughput(fixture.bytes, medianOf(homeage))} ` +
            `(${formatSeconds(medianOf(homeage))})`,
        baseline: `age -d: ${formatThroughput(fixture.bytes, medianOf(age))} ` +
            `(${formatSeconds(medianOf(age))})`,
        ratio: ratioText(speed),
        target: THROUGHPUT_TARGET.text ?? "",
        result: verdict(speed, THROUGHPUT_TARGET),
        runs: runsText(homeage, age),
    }
}

async function memoryRow(
    ws: Workspace, options: BenchOptions, progress: Progress, notes: string[],
): Promise<Row> {
    const size = options.memoryMiB * BYTES_PER_MIB
    progress(`making a ${options.memoryMiB} MiB file, encrypted with age -r`)
    const plain = ws.path("memory.bin")
    const digest = await writeRandomFile(plain, size)
    const fixture = await encrypt(ws, plain, ws.path("memory.age"), false, size, digest)
    await rm(plain)

    const out = ws.memory("memory.out")
    const decrypt = homeageDecrypt(ws, fixture, out)
    const version: Command = { ...decrypt, args: [HOMEAGE_BIN, "--version"] }
    const peaks: number[] = []
    const baselines: number[] = []
    const seconds: number[] = []
    for (let i = 0; i < options.slowRuns; i++) {
        await rm(out, { force: true })
        const peak = await peakMemoryKiB(decrypt, ws.path())
        peaks.push(peak.kib)
        seconds.push(peak.seconds)
        progress(`peak memory ${options.memoryMiB} MiB, run ${i + 1}/${options.slowRuns}: ` +
            `${formatKiB(peak.kib)} in ${formatSeconds(peak.seconds)}`)
        if (i === 0 && await fileSha256(out) !== digest) {
            throw new Error(`homeage decrypt: wrong plaintext in ${out}`)
        }
        baselines.push((await peakMemoryKiB(version, ws.path())).kib)
    }
    await rm(out, { force: true })
    const age = await peakMemoryKiB(ageDecrypt(ws, fixture, out), ws.path())
    await rm(out, { force: true })

    const peak = median(peaks)
    const baseline = median(baselines)
    const above = peak - baseline
    notes.push(`${options.memoryMiB} MiB decrypt: homeage took ` +
        `${formatSeconds(median(seconds))} ` +
        `(${formatThroughput(size, median(seconds))}, under ${GNU_TIME}); Go age peaked at ` +
        `${formatKiB(age.kib)} in ${formatSeconds(age.seconds)}.`)
    return {
        section: "large file",
        what: `peak memory, decrypt ${options.memoryMiB} MiB`,
        homeage: `${formatKiB(above)} above baseline (peak ${formatKiB(peak)})`,
        baseline: `homeage --version: ${formatKiB(baseline)}`,
        ratio: "",
        target: `< ${formatKiB(MEMORY_LIMIT_KIB)} above`,
        result: above < MEMORY_LIMIT_KIB
            ? "met"
            : `missed (by ${formatKiB(above - MEMORY_LIMIT_KIB)})`,
        runs: `${peaks.length}`,
    }
}
