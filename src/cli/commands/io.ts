/**
 * Standard input and output for the data commands (keygen, encrypt, decrypt):
 * reading all of standard input, and writing bytes to standard output with
 * back-pressure.
 */
import { OperationError, messageOf } from "../../errors.js"

/** Reads all of standard input. */
export async function readStdin(): Promise<Uint8Array> {
    const pieces: Buffer[] = []
    for await (const piece of process.stdin) pieces.push(piece as Buffer)
    return Buffer.concat(pieces)
}

/** Writes `bytes` to standard output, resolving once they are handed to the system. */
export function writeStdout(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
        process.stdout.write(bytes, (err) => {
            if (err === undefined || err === null) resolve()
            else reject(new OperationError(`cannot write to standard output: ${messageOf(err)}`,
                { cause: err }))
        })
    })
}
