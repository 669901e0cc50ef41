/**
 * A buffered reader over a stream of byte chunks, so that the header can be
 * read line by line and the payload chunk by chunk without holding the whole
 * file in memory.
 */

/** Where bytes come from: a file stream, standard input, or one buffer. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array>

/** Reads lines and fixed-size pieces from a {@link ByteSource}. */
export class ByteReader {
    private readonly source: AsyncIterator<Uint8Array> | Iterator<Uint8Array>
    private pending: Uint8Array[] = []
    private buffered = 0
    private ended = false

    constructor(source: ByteSource) {
        this.source = Symbol.asyncIterator in source
            ? source[Symbol.asyncIterator]()
            : source[Symbol.iterator]()
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
            if (first.length === size) this.pending.shift()
            else this.pending[0] = first.subarray(size)
            this.buffered -= size
            return first.subarray(0, size)
        }

        const out = new Uint8Array(size)
        let offset = 0
        while (offset < size) {
            const head = this.pending[0]
            if (head === undefined) break
            const n = Math.min(head.length, size - offset)
            out.set(head.subarray(0, n), offset)
            offset += n
            if (n === head.length) this.pending.shift()
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

        const merged = new Uint8Array(this.buffered)
        let offset = 0
        for (const piece of this.pending) {
            merged.set(piece, offset)
            offset += piece.length
        }
        this.pending = [merged]
        return merged.subarray(0, size)
    }

    /** Drops up to `count` buffered bytes without copying them. */
    skip(count: number): void {
        let rest = Math.min(count, this.buffered)
        this.buffered -= rest
        while (rest > 0) {
            const head = this.pending[0]
            if (head === undefined) break
            if (head.length <= rest) {
                this.pending.shift()
                rest -= head.length
                continue
            }
            this.pending[0] = head.subarray(rest)
            rest = 0
        }
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
