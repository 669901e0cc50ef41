/**
 * File-system errors of the age layer and of the keygen, encrypt and decrypt
 * commands, in a user's words: what is wrong at which path and what to do,
 * instead of a raw `ENOENT: no such file or directory, open …`. Built on the
 * project's {@link fsReason}, so that one errno reads the same everywhere, with
 * the cases where reading and creating a file need different advice.
 */
import { existsSync } from "node:fs"
import { dirname } from "node:path"

import { errnoOf } from "../errors.js"
import { fsReason } from "../fs/errno.js"

/**
 * What was being done with the file: `read` an input or identity file,
 * `create` a new file (or a temp file beside it), or `write` into one.
 */
export type FileUse = "read" | "create" | "write"

/**
 * The reason a file-system call on `path` failed, as a sentence that ends with
 * the fix, for example `the folder /a/b does not exist: create it (mkdir -p
 * /a/b) or choose another path`. `path` is the file the call was about (for
 * `create` and `write`, the file being made, not its folder). Errors without
 * an errno give their own message.
 */
export function fileReason(err: unknown, path: string, use: FileUse): string {
    const code = errnoOf(err)
    if (use === "read") return readReason(err, code, path)

    const folder = dirname(path)
    if (code === "ENOENT" && !existsSync(folder)) {
        return `the folder ${folder} does not exist: create it (mkdir -p ${folder}) or choose`
            + " another path"
    }
    return fsReason(err, code === "ENOSPC" || code === "EDQUOT" ? folder : path)
}

function readReason(err: unknown, code: string | undefined, path: string): string {
    switch (code) {
        case "ENOENT":
            return "no such file; check the path"
        case "EACCES":
        case "EPERM":
            return `permission denied on ${path} (${code}): check the owner and mode of the`
                + ` file and of its folders (ls -l ${path})`
        case "EISDIR":
            return `${path} is a folder, not a file: give the path of a file`
        default:
            return fsReason(err, path)
    }
}
