/**
 * Writing a command's output file all-or-nothing: into an exclusive, no-follow
 * temp file with a random name beside the target, created with its final
 * mode, renamed over the target only when the whole content was written, and
 * removed on every failure, including SIGINT and SIGTERM.
 */
import { constants, rmSync } from "node:fs"
import { open, rename, rm } from "node:fs/promises"
import type { FileHandle } from "node:fs/promises"
import { dirname } from "node:path"

import { HomeageError, OperationError, messageOf } from "../errors.js"
import { tempPathFor } from "../fs/atomic.js"
import type { ChunkSink } from "./stream.js"

/** Permission bits of a mode. */
const PERMISSION_BITS = 0o777

/**
 * Bytes gathered before writing them (1 MiB): fewer, larger writes, while memory
 * stays small whatever the file's size.
 */
const WRITE_BATCH_BYTES = 1024 * 1024

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM"]

/**
 * Runs `produce` with a sink that appends to a temp file beside `outPath`
 * (permission bits exactly `mode`, set before any byte is written), then
 * renames the temp file over `outPath`. If `produce` throws, or the process
 * gets SIGINT or SIGTERM meanwhile, the temp file is removed and `outPath` is
 * left as it was. Errors from `produce` are rethrown as they are; file system
 * errors become an `OperationError` naming `outPath`.
 */
export async function writeThroughTemp(
    outPath: string, mode: number, produce: (sink: ChunkSink) => Promise<void>,
): Promise<void> {
    const temp = tempPathFor(outPath)
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL
        | constants.O_NOFOLLOW
    const onSignal = (signal: NodeJS.Signals): void => {
        for (const s of SIGNALS) process.off(s, onSignal)
        try {
            rmSync(temp, { force: true })
        } catch {
            // The process is being stopped; nothing more can be done.
        }
        process.kill(process.pid, signal)
    }
    // Listening before the temp file exists, so that no signal can leave it behind.
    for (const s of SIGNALS) process.on(s, onSignal)

    let handle
    try {
        handle = await open(temp, flags, mode & PERMISSION_BITS)
    } catch (err) {
        for (const s of SIGNALS) process.off(s, onSignal)
        throw new OperationError(`cannot create a file in ${dirname(outPath)}: ${messageOf(err)}`,
            { cause: err })
    }

    try {
        const out = handle
        await out.chmod(mode & PERMISSION_BITS)
        const writer = new BatchWriter(out)
        await produce((bytes) => writer.add(bytes))
        await writer.end()
        await out.sync()
        await out.close()
        handle = undefined
        await rename(temp, outPath)
    } catch (err) {
        await handle?.close().catch(() => undefined)
        await rm(temp, { force: true }).catch(() => undefined)
        if (err instanceof HomeageError) throw err
        throw new OperationError(`cannot write ${outPath}: ${messageOf(err)}`, { cause: err })
    } finally {
        for (const s of SIGNALS) process.off(s, onSignal)
    }
}

/**
 * Appends to a file in batches of {@link WRITE_BATCH_BYTES}, with one write in
 * flight while the next batch is gathered, so that decrypting and writing
 * overlap; at most two batches are held.
 */
class BatchWriter {
    private pending: Uint8Array[] = []
    private pendingBytes = 0
    private writing: Promise<void> = Promise.resolve()

    constructor(private readonly out: FileHandle) {}

    /** Adds bytes; waits only when a full batch must wait for the previous write. */
    async add(bytes: Uint8Array): Promise<void> {
        this.pending.push(bytes)
        this.pendingBytes += bytes.length
        if (this.pendingBytes < WRITE_BATCH_BYTES) return
        await this.flush()
    }

    /** Writes what is left and waits for every write. */
    async end(): Promise<void> {
        await this.flush()
        await this.writing
    }

    private async flush(): Promise<void> {
        await this.writing
        if (this.pendingBytes === 0) return

        const batch = this.pending
        const size = this.pendingBytes
        this.pending = []
        this.pendingBytes = 0
        this.writing = this.out.writev(batch).then(({ bytesWritten }) => {
            if (bytesWritten !== size) throw new Error(`short write (${bytesWritten} of ${size})`)
        })
        // A failed write is reported by the next flush or by end(); never unhandled.
        this.writing.catch(() => undefined)
    }
}
