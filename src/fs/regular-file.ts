/**
 * Reading a whole file that must be a regular one of bounded size, without
 * ever waiting on it: for files homeage keeps beside its code or in its state
 * (the code cache, the record of an unchanged run), where anything else is a
 * sign of damage.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs"

/**
 * The whole content of the regular file `path`. Opened without blocking (a
 * FIFO would wait for a writer forever), and with `extraFlags` (such as
 * `O_NOFOLLOW`); refused unless it is a regular file of at most `maxBytes` (a
 * link to /dev/zero never ends). Throws the system's error, or an `Error`
 * saying what the file is instead.
 */
export function readRegularFile(path: string, maxBytes: number, extraFlags = 0): Buffer {
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | extraFlags)
    try {
        const info = fstatSync(fd)
        if (!info.isFile()) throw new Error(`${path} is not a regular file`)
        if (info.size > maxBytes) throw new Error(`${path} is larger than ${maxBytes} bytes`)
        const bytes = Buffer.allocUnsafe(info.size)
        let filled = 0
        while (filled < bytes.length) {
            const read = readSync(fd, bytes, filled, bytes.length - filled, filled)
            if (read === 0) break
            filled += read
        }
        return bytes.subarray(0, filled)
    } finally {
        closeSync(fd)
    }
}
