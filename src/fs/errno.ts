/**
 * File-system errors in a user's words: what happened at which path and what
 * to do about it, instead of a raw `ENOSPC: no space left on device, write`.
 * Every module of activation, generations and authoring words its errors with
 * {@link fsReason}, so one errno always reads the same way.
 */
import { errnoOf, messageOf } from "../errors.js"

/**
 * The reason a file-system call on `path` failed, as a sentence that ends with
 * the fix: `the file system holding /x is full: free space there …`. `path` is
 * the file or folder the call was about. Errors without a known errno give
 * their own message.
 */
export function fsReason(err: unknown, path: string): string {
    const code = errnoOf(err)
    switch (code) {
        case "ENOSPC":
            return `the file system holding ${path} is full (ENOSPC): free space there (or ` +
                "make the tmpfs bigger) and run the command again"
        case "EDQUOT":
            return `your disk quota on the file system holding ${path} is used up (EDQUOT): ` +
                "free space there and run the command again"
        case "EACCES":
        case "EPERM":
            return `permission denied at ${path} (${code}): give your user write access to ` +
                "its folder (or remove the immutable attribute), or choose another path"
        case "EROFS":
            return `${path} is on a read-only file system (EROFS): remount it read-write, ` +
                "or choose a path on a writable file system"
        case "ENOENT":
            return `${path} or a folder on the way to it does not exist (ENOENT); it may have ` +
                "been removed meanwhile: run the command again"
        case "ENOTDIR":
            return `a part of the path ${path} is a file, not a folder (ENOTDIR): move that ` +
                "file away, or choose another path"
        case "EISDIR":
            return `${path} is a folder where a file belongs (EISDIR): move it away`
        case "ELOOP":
            return `${path} is a symlink, or a loop of symlinks, where homeage never follows ` +
                "one (ELOOP): move it away"
        case "ENAMETOOLONG":
            return `the path ${path} is too long for the file system (ENAMETOOLONG): ` +
                "choose a shorter one"
        case "EMFILE":
        case "ENFILE":
            return `too many open files while working on ${path} (${code}): raise the limit ` +
                "(ulimit -n) or close programs, and run the command again"
        case "EBUSY":
            return `${path} is busy (EBUSY): stop what uses it (a mount?) and run the ` +
                "command again"
        case "EIO":
            return `the disk holding ${path} reported an input/output error (EIO): check ` +
                "the device (dmesg) before trying again"
        case "EXDEV":
            return `${path} is on another file system than its temporary file (EXDEV): keep ` +
                "the target and its folder on one file system"
        default:
            return messageOf(err)
    }
}
