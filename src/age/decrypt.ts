/**
 * Decrypting age files, binary or armored (detected), in memory or streamed
 * into a file. No plaintext is released before the header MAC and every
 * payload chunk are verified: in memory the result is returned only at the
 * end; into a file it goes to a private temp file that is renamed into place
 * only on success and removed on every failure.
 */
import { open } from "node:fs/promises"

import { OperationError } from "../errors.js"
import { decodeArmor, looksArmored } from "./armor.js"
import { DecryptError, FormatProblem } from "./failure.js"
import { fileReason } from "./file-errors.js"
import { writeThroughTemp } from "./files.js"
import type { DecryptFailureKind } from "./failure.js"
import { concat, headerMac, readHeader, sameMac } from "./format.js"
import { loadedIdentities } from "./identities.js"
import type { IdentitySet } from "./identities.js"
import { ByteReader, FileSource, bytesSource } from "./reader.js"
import type { ByteSource } from "./reader.js"
import { decryptPayload } from "./stream.js"
import type { ChunkSink } from "./stream.js"

/** What to do about each kind of failure, said after what happened. */
const ADVICE: Record<DecryptFailureKind, string> = {
    "armor": "the ASCII armor is malformed",
    "header": "not a valid age file",
    "no-match": "cannot decrypt",
    "hmac": "the header MAC does not match: the file was modified, or a stanza was"
        + " forged for your key; restore it from a good copy",
    "truncated": "the file is truncated; restore it from a good copy",
    "payload": "the file is corrupted or was tampered with; restore it from a good copy",
}

/**
 * Decrypts the age file read from `source`, handing plaintext to `sink` chunk
 * by chunk as each chunk is authenticated, in order. Throws a
 * {@link DecryptError} (message starting with `what`) on any failure; chunks
 * already given to `sink` are then incomplete and must be discarded, which
 * {@link decrypt} and {@link decryptToFile} do. A file from {@link openInput}
 * is closed when this returns or throws.
 */
export async function decryptStream(
    source: ByteSource, identities: IdentitySet, what: string, sink: ChunkSink,
): Promise<void> {
    const set = loadedIdentities(identities)
    const file = source instanceof FileSource ? source : undefined
    try {
        const outer = new ByteReader(source)
        const reader = await looksArmored(outer) ? new ByteReader(decodeArmor(outer)) : outer

        const header = await readHeader(reader)
        // The header is parsed: no view of the file's bytes is kept from here on.
        file?.reuseBuffers()
        const fileKey = await set.unwrap(header.stanzas, what)
        if (!sameMac(headerMac(fileKey, header.macInput), header.mac)) {
            throw new FormatProblem("hmac", "")
        }
        await decryptPayload(reader, fileKey, sink)
    } catch (err) {
        if (err instanceof FormatProblem) {
            const message = err.message === ""
                ? `${what}: ${ADVICE[err.kind]}`
                : `${what}: ${ADVICE[err.kind]}: ${err.message}`
            throw new DecryptError(err.kind, message, { cause: err })
        }
        throw err
    } finally {
        await file?.close()
    }
}

/**
 * Decrypts a whole age file (binary or armored, detected) in memory. The result
 * is returned only once the header MAC and every payload chunk are verified; on
 * any failure it throws a {@link DecryptError} (an `OperationError`) whose
 * message starts with `what` (for example `secret gh-token
 * (secrets/gh-token.age)`) and says what to do.
 */
export async function decrypt(
    ciphertext: Uint8Array, identities: IdentitySet, what: string,
): Promise<Uint8Array> {
    const pieces: Uint8Array[] = []
    await decryptStream(bytesSource(ciphertext), identities, what, (p) => {
        pieces.push(p)
    })

    return concat(pieces)
}

/**
 * Decrypts the age file `input` (a path, or a byte source such as standard
 * input) into `outPath` with permission bits `mode`, using a bounded amount of
 * memory (a few MiB) whatever the file's size. The plaintext goes to an
 * exclusive, no-follow temp file with a random name in `outPath`'s folder,
 * created with `mode`; it is renamed over `outPath` only once the whole file
 * is verified, and removed on every failure, including SIGINT and SIGTERM.
 */
export async function decryptToFile(
    input: string | ByteSource,
    outPath: string,
    mode: number,
    identities: IdentitySet,
    what: string,
): Promise<void> {
    const source = typeof input === "string" ? await openInput(input) : input
    try {
        await writeThroughTemp(outPath, mode,
            (sink) => decryptStream(source, identities, what, sink))
    } finally {
        // Also when the output could not be created and nothing was read.
        if (source instanceof FileSource) await source.close()
    }
}

/**
 * Opens a file for streaming, failing early (before any output exists) if it
 * cannot be opened. The file is read 1 MiB at a time into reused buffers (see
 * {@link FileSource}).
 */
export async function openInput(path: string): Promise<ByteSource> {
    try {
        const handle = await open(path, "r")
        if ((await handle.stat()).isDirectory()) {
            await handle.close()
            throw Object.assign(new Error(`${path} is a folder`), { code: "EISDIR" })
        }
        return new FileSource(handle)
    } catch (err) {
        throw new OperationError(`cannot read ${path}: ${fileReason(err, path, "read")}`,
            { cause: err })
    }
}
