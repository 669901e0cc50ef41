/**
 * Writing a command's output file all-or-nothing: into an exclusive, no-follow
 * temp file with a random name beside the target, created with its final
 * mode, renamed over the target only when the whole content was written, and
 * removed on every failure, including SIGINT and SIGTERM. An output given as
 * a symlink is written through, as age does, so the user's link survives.
 */
import { constants, rmSync } from "node:fs"
import { lstat, open, readlink, realpath, rename, rm, stat } from "node:fs/promises"
import type { FileHandle } from "node:fs/promises"
import { dirname, resolve } from "node:path"

import { HomeageError, OperationError } from "../errors.js"
import { tempPathFor } from "../fs/atomic.js"
import { fileReason } from "./file-errors.js"
import type { ChunkSink } from "./stream.js"

/** Permission bits of a mode. */
const PERMISSION_BITS = 0o777

/**
 * Bytes gathered before writing them (1 MiB): fewer, larger writes, while memory
 * stays small whatever the file's size.
 */
const WRITE_BATCH_BYTES = 1024 * 1024

/** Symlinks followed at most when resolving an output path (40, as Linux). */
const MAX_SYMLINK_HOPS = 40

const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM"]

/**
 * Where a command's output `outPath` (`-o OUT`) is to be written: `outPath`
 * itself, or, when it is a symlink, the final target of the chain of links,
 * which may not exist yet (age opens OUT following links, so writing through
 * keeps the user's link; {@link writeThroughTemp} then puts its temp file in
 * the target's folder). Throws an `OperationError` naming the link and its
 * target when the target's folder does not exist, or the links loop.
 */
export async function outputTarget(outPath: string): Promise<string> {
    let current = outPath
    for (let hops = 0; hops <= MAX_SYMLINK_HOPS; hops++) {
        const isLink = await lstat(current).then((s) => s.isSymbolicLink(), () => false)
        if (!isLink) return current === outPath ? outPath : checkedTarget(outPath, current)

        try {
            current = resolve(await realpath(dirname(current)), await readlink(current))
        } catch (err) {
            throw new OperationError(`cannot follow the symlink ${current}: `
                + fileReason(err, current, "read"), { cause: err })
        }
    }
    throw new OperationError(`cannot write ${outPath}: it is a symlink that leads through more`
        + ` than ${MAX_SYMLINK_HOPS} links (a loop?); fix the link or choose another path`)
}

async function checkedTarget(outPath: string, target: string): Promise<string> {
    const folder = dirname(target)
    const isFolder = await stat(folder).then((s) => s.isDirectory(), () => false)
    if (isFolder) return target
    throw new OperationError(`cannot write ${outPath}: it is a symlink to ${target}, whose`
        + ` folder ${folder} does not exist; create that folder, or point the link elsewhere`)
}

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
        throw new OperationError(`cannot create ${outPath}: ${fileReason(err, outPath, "create")}`,
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
        throw new OperationError(`cannot write ${outPath}: ${fileReason(err, outPath, "write")}`
            + "; nothing was written there", { cause: err })
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
        this.pending = []
        this.pendingBytes = 0
        this.writing = writeAll(this.out, batch)
        // A failed write is reported by the next flush or by end(); never unhandled.
        this.writing.catch(() => undefined)
    }
}

/**
 * Writes every byte of `pieces`, writing again after a short write: the
 * system writes what fits and reports why it cannot write more (such as
 * ENOSPC) only on the next call.
 */
async function writeAll(out: FileHandle, pieces: Uint8Array[]): Promise<void> {
    let rest = pieces.filter((p) => p.length > 0)
    while (rest.length > 0) {
        const { bytesWritten } = await out.writev(rest)
        if (bytesWritten === 0) {
            // No progress and no errno: the file system takes no more data, which is being full.
            throw Object.assign(new Error("no byte could be written"), { code: "ENOSPC" })
        }
        rest = dropBytes(rest, bytesWritten)
    }
}

/** `pieces` without their first `count` bytes. */
function dropBytes(pieces: Uint8Array[], count: number): Uint8Array[] {
    let left = count
    const rest: Uint8Array[] = []
    for (const piece of pieces) {
        if (left >= piece.length) {
            left -= piece.length
            continue
        }
        rest.push(left > 0 ? piece.subarray(left) : piece)
        left = 0
    }
    return rest
}
