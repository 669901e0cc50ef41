/**
 * User and group names to numeric ids, for a secret's `owner` and `group`.
 * Node.js has no getpwnam, so this asks `getent` (which sees NSS sources such
 * as LDAP) and falls back to /etc/passwd and /etc/group.
 */
import { execFile } from "node:child_process"
import { readFile } from "node:fs/promises"

/** Longest time `getent` may take before the fallback files are read (ms). */
const GETENT_TIMEOUT_MS = 5000

type Database = "passwd" | "group"

function getent(database: Database, name: string): Promise<string | undefined> {
    return new Promise((resolve) => {
        execFile("getent", [database, name], { timeout: GETENT_TIMEOUT_MS },
            (err, stdout) => { resolve(err ? undefined : stdout.split("\n")[0]) })
    })
}

async function fromFile(database: Database, name: string): Promise<string | undefined> {
    let text: string
    try {
        text = await readFile(`/etc/${database}`, "utf8")
    } catch {
        return undefined
    }
    return text.split("\n").find((line) => line.split(":")[0] === name)
}

async function lookup(database: Database, name: string): Promise<number | undefined> {
    if (/^\d+$/.test(name)) return Number(name)

    const line = await getent(database, name) ?? await fromFile(database, name)
    const id = line?.split(":")[2]
    if (id === undefined || !/^\d+$/.test(id)) return undefined
    return Number(id)
}

/** The uid of user `name` (or a numeric uid as text); `undefined` if no such user. */
export function userId(name: string): Promise<number | undefined> {
    return lookup("passwd", name)
}

/** The gid of group `name` (or a numeric gid as text); `undefined` if no such group. */
export function groupId(name: string): Promise<number | undefined> {
    return lookup("group", name)
}
