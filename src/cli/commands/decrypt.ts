/**
 * `homeage decrypt [-i FILE]… [-o OUT] [IN]`: as `age -d`, armor detected.
 * Without `-i`, a passphrase-encrypted file asks for its passphrase. No
 * plaintext is written unless the whole file is verified: OUT is replaced only
 * then (streamed through a private temp file, so any size works), and standard
 * output gets the plaintext only at the end (held in memory until then). An
 * OUT that is a symlink is written through, as age does. Identities come only
 * from `-i`, never from the config, so that it works as `age -d` does.
 */
import {
    decryptStream, decryptToFile, loadIdentities, openInput, outputTarget,
} from "../../age/index.js"
import type { ByteSource } from "../../age/index.js"
import type { CommandRun } from "../context.js"
import { refuseOutputIsInput, writeStdout } from "./io.js"

/** Mode of a decrypted output file: readable by its owner only. */
const PLAINTEXT_FILE_MODE = 0o600

/** `homeage decrypt`: see the module comment. */
export const run: CommandRun = async (ctx, options, args) => {
    const paths = Array.isArray(options.identity) ? options.identity.map(String) : []
    const output = options.output as string | undefined
    const input = args[0]
    if (output !== undefined && output !== "-") refuseOutputIsInput(input, output)

    const identities = await loadIdentities(paths, {
        warn: (message) => {
            ctx.log.warn(message)
        },
        identityHint: "-i FILE",
    })
    for (const line of identities.describe()) ctx.log.detail(`identity ${line}`)

    const fromStdin = input === undefined || input === "-"
    const what = fromStdin ? "standard input" : input
    const source: ByteSource = fromStdin ? process.stdin : await openInput(input)

    if (output !== undefined && output !== "-") {
        const target = await outputTarget(output)
        await decryptToFile(source, target, PLAINTEXT_FILE_MODE, identities, what)
        return 0
    }

    const pieces: Uint8Array[] = []
    await decryptStream(source, identities, what, (piece) => {
        pieces.push(piece)
    })
    for (const piece of pieces) await writeStdout(piece)
    return 0
}
