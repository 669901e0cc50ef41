/**
 * Standard input and output for the data commands (keygen, encrypt, decrypt):
 * reading all of standard input, writing bytes to standard output with
 * back-pressure, and refusing an output file that is the input.
 */
import { fstatSync, statSync, type Stats } from "node:fs"

import { OperationError, UsageError, messageOf } from "../../errors.js"

/**
 * Throws a `UsageError` when `output` is the same file as `input` (links
 * followed), or as standard input when `input` is absent or `-`: the output
 * replaces its file once done, so the input, ciphertext or plaintext, would
 * be lost, and decrypted text left where it was.
 */
export function refuseOutputIsInput(input: string | undefined, output: string): void {
    const fromStdin = input === undefined || input === "-"
    const a = fromStdin ? fstatOrUndefined(0) : statSync(input, { throwIfNoEntry: false })
    const b = statSync(output, { throwIfNoEntry: false })
    if (a === undefined || !a.isFile() || a.dev !== b?.dev || a.ino !== b.ino) return
    const what = fromStdin ? "standard input" : `the input file ${input}`
    throw new UsageError(`-o ${output} is ${what}; writing it would replace the file being ` +
        "read: choose another output path")
}

function fstatOrUndefined(fd: number): Stats | undefined {
    try {
        return fstatSync(fd)
    } catch {
        return undefined
    }
}

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
