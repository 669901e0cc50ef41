/**
 * A buffered reader over a stream of byte chunks, so that the header can be
 * read line by line and the payload chunk by chunk without holding the whole
 * file in memory; and a file source that reads ahead into reused buffers, so
 * that a large file costs neither fresh memory for every read nor a wait for
 * each read.
 */
import type { FileHandle } from "node:fs/promises"

/** Where bytes come from: a file stream, standard input, or one buffer. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>

/** Bytes read from a file at once (1 MiB). */
const FILE_READ_BYTES = 1024 * 1024

/**
 * A file read in order, 1 MiB at a time, with the next read already under
 * way while the previous piece is used. Once {@link reuseBuffers} is called,
 * a buffer whose bytes a {@link ByteReader} has consumed is read into again;
 * the pieces read before stay untouched. Closes the file at its end or on
 * {@link close}.
 */
export class FileSource implements AsyncIterable<Uint8Array> {
    private readonly lent = new Set<ArrayBufferLike>()
    private readonly free: Uint8Array[] = []
    private reusing = false
    private closed = false

    /** Reads from `handle`, which this source owns from now on and closes. */
    constructor(private readonly handle: FileHandle) {}

    async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
        let next = this.read()
        try {
            for (;;) {
                const piece = await next
                if (piece === undefined) return
                next = this.read()
                // A read still under way when the consumer stops is not waited for.
                next.catch(() => undefined)
                yield piece
            }
        } finally {
            await next.catch(() => undefined)
            await this.close()
        }
    }

    /**
     * From now on, buffers that a {@link ByteReader} has consumed are reused:
     * the caller promises that it keeps no view of them past the reader's
     * next `fill`, which the payload's reading does and the header's does not.
     */
    reuseBuffers(): void {
        this.reusing = true
    }

    /** Closes the file; reading stops. */
    async close(): Promise<void> {
        if (this.closed) return
        this.closed = true
        await this.handle.close()
    }

    /** Called by {@link ByteReader} when it has consumed every byte of `piece`. */
    consumed(piece: Uint8Array): void {
        if (!this.lent.delete(piece.buffer) || !this.reusing) return
        this.free.push(new Uint8Array(piece.buffer))
    }

    private async read(): Promise<Uint8Array | undefined> {
        if (this.closed) return undefined
        const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(FILE_READ_BYTES)
        const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, null)
        if (bytesRead === 0) return undefined
        // Tracked only to be reused: a reader that never hands pieces back (encryption
        // reads the file straight through) must not keep every piece alive.
        if (this.reusing) this.lent.add(buffer.buffer)
        return buffer.subarray(0, bytesRead)
    }
}

/**
 * Reads lines and fixed-size pieces from a {@link ByteSource}. Over a
 * {@link FileSource} that reuses its buffers, what {@link take} and
 * {@link contiguous} return is valid only until the next {@link fill}.
 */
export class ByteReader {
    private readonly source: AsyncIterator<Uint8Array> | Iterator<Uint8Array>
    private readonly file: FileSource | undefined
    private pending: Uint8Array[] = []
    private buffered = 0
    private ended = false

    constructor(source: ByteSource) {
        this.source = Symbol.asyncIterator in source
            ? source[Symbol.asyncIterator]()
            : source[Symbol.iterator]()
        this.file = source instanceof FileSource ? source : undefined
    }

    /** How many bytes are buffered right now. */
    get available(): number {
        return this.buffered
    }

    /**
     * Buffers at least `count` bytes unless the source ends first; returns how
     * many bytes are buffered (fewer than `count` only at the end).
     */
    async fill(count: number): Promise<number> {
        while (this.buffered < count && !this.ended) {
            const next = await this.source.next()
            if (next.done === true) {
                this.ended = true
                break
            }
            if (next.value.length === 0) continue
            this.pending.push(next.value)
            this.buffered += next.value.length
        }
        return this.buffered
    }

    /** A copy of up to `count` buffered bytes, left in the buffer (call {@link fill} first). */
    peek(count: number): Uint8Array {
        const size = Math.min(count, this.buffered)
        const out = new Uint8Array(size)
        let offset = 0
        for (const piece of this.pending) {
            if (offset >= size) break
            const n = Math.min(piece.length, size - offset)
            out.set(piece.subarray(0, n), offset)
            offset += n
        }
        return out
    }

    /**
     * Takes up to `count` buffered bytes (call {@link fill} first). The caller
     * may keep the result but must not modify it: when the bytes lie in one
     * piece of the source, it is a view of that piece rather than a copy.
     */
    take(count: number): Uint8Array {
        const size = Math.min(count, this.buffered)
        const first = this.pending[0]
        if (first !== undefined && first.length >= size) {
            if (first.length === size) this.dropHead()
            else this.pending[0] = first.subarray(size)
            this.buffered -= size
            return first.subarray(0, size)
        }
        return this.takeCopy(size)
    }

    /** Takes up to `count` buffered bytes as a new array: a copy, for bytes across pieces. */
    private takeCopy(count: number): Uint8Array {
        const size = Math.min(count, this.buffered)
        const out = new Uint8Array(size)
        let offset = 0
        while (offset < size) {
            const head = this.pending[0]
            if (head === undefined) break
            const n = Math.min(head.length, size - offset)
            out.set(head.subarray(0, n), offset)
            offset += n
            if (n === head.length) this.dropHead()
            else this.pending[0] = head.subarray(n)
        }
        this.buffered -= size
        return out
    }

    /**
     * The first `count` buffered bytes (or all, if fewer) as one array, left in
     * the buffer (call {@link fill} first). It is a view, not a copy: it is
     * valid only until the next {@link take} or {@link skip}.
     */
    contiguous(count: number): Uint8Array {
        const size = Math.min(count, this.buffered)
        const head = this.pending[0]
        if (head !== undefined && head.length >= size) return head.subarray(0, size)

        // Only the bytes asked for are merged; the rest stays where it is.
        const merged = this.takeCopy(size)
        this.pending.unshift(merged)
        this.buffered += size
        return merged
    }

    /** Drops up to `count` buffered bytes without copying them. */
    skip(count: number): void {
        let rest = Math.min(count, this.buffered)
        this.buffered -= rest
        while (rest > 0) {
            const head = this.pending[0]
            if (head === undefined) break
            if (head.length <= rest) {
                this.dropHead()
                rest -= head.length
                continue
            }
            this.pending[0] = head.subarray(rest)
            rest = 0
        }
    }

    /** Removes the first piece, all of whose bytes were consumed. */
    private dropHead(): void {
        const head = this.pending.shift()
        if (head !== undefined) this.file?.consumed(head)
    }

    /**
     * Reads one line including its `\n`, at most `limit` bytes long. Returns
     * the bytes read without a `\n` when the source ends first (empty at the
     * very end), and `undefined` when no newline comes within `limit` bytes.
     */
    async readLine(limit: number): Promise<Uint8Array | undefined> {
        let searched = 0
        for (;;) {
            const index = this.indexOfNewline(searched)
            if (index >= 0) return index + 1 > limit ? undefined : this.take(index + 1)
            searched = this.buffered
            if (searched >= limit) return undefined

            const before = this.buffered
            await this.fill(before + 1)
            if (this.buffered === before) return this.take(before)
        }
    }

    private indexOfNewline(from: number): number {
        let base = 0
        for (const piece of this.pending) {
            if (base + piece.length > from) {
                const start = Math.max(0, from - base)
                const index = piece.indexOf(0x0a, start)
                if (index >= 0) return base + index
            }
            base += piece.length
        }
        return -1
    }
}

/** One buffer as a {@link ByteSource}. */
export function bytesSource(bytes: Uint8Array): ByteSource {
    return [bytes]
}
