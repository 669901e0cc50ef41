/**
 * Names of the systemd user units homeage writes. A secret's unit name is its
 * secret name escaped the way `systemd-escape` escapes a string, so a user's
 * own unit can name exactly the secret it reads, and two secret names never
 * share a unit.
 */
import { UsageError } from "../errors.js"

/** Every unit name homeage owns starts with this. */
export const UNIT_PREFIX = "homeage"

/** The unit that decrypts every secret in one process at login. */
export const BATCH_UNIT = `${UNIT_PREFIX}.service`

/** The target ordered after every secret unit, for services that need all secrets. */
export const TARGET_UNIT = `${UNIT_PREFIX}.target`

/** Longest unit name systemd accepts, in bytes (its UNIT_NAME_MAX less the NUL). */
export const UNIT_NAME_MAX = 255 // bytes

/** Bytes `systemd-escape` leaves as they are (a leading `.` is escaped all the same). */
const PLAIN_BYTE = /^[A-Za-z0-9:_.]$/

/**
 * Escapes a string as `systemd-escape STRING` does (no `--path`): `/` becomes
 * `-`; ASCII letters, digits, `:`, `_` and `.` stay; every other byte of the
 * UTF-8 encoding, `-` included, becomes `\xNN` in lower-case hex; a leading `.`
 * becomes `\x2e`. The mapping is one-to-one, which is why `git/netrc` and
 * `git-netrc` end up with different names.
 */
export function systemdEscape(text: string): string {
    const bytes = Buffer.from(text, "utf8")
    let out = ""

    for (const [index, byte] of bytes.entries()) {
        const char = String.fromCharCode(byte)
        if (char === "/") {
            out += "-"
        } else if (byte < 0x80 && PLAIN_BYTE.test(char) && !(index === 0 && char === ".")) {
            out += char
        } else {
            out += `\\x${byte.toString(16).padStart(2, "0")}`
        }
    }

    return out
}

/**
 * The unit of one secret: `homeage-<escaped name>.service`, for example
 * `homeage-git-netrc.service` for `git/netrc` and `homeage-git\x2dnetrc.service`
 * for `git-netrc`. Throws a {@link UsageError} naming the secret when the name
 * is empty or the unit name would exceed systemd's limit of 255 bytes.
 */
export function secretUnitName(secret: string): string {
    if (secret === "") throw new UsageError("a secret name is empty; give every secret a name")

    const unit = `${UNIT_PREFIX}-${systemdEscape(secret)}.service`
    if (Buffer.byteLength(unit) > UNIT_NAME_MAX) {
        throw new UsageError(
            `secret ${secret}: its systemd unit name would be ${Buffer.byteLength(unit)} bytes, ` +
            `longer than systemd's limit of ${UNIT_NAME_MAX}; choose a shorter secret name`)
    }

    return unit
}

/**
 * Whether a file name in the unit folder is one of the names homeage gives its
 * units: the batch service, the target, or a secret unit. Used together with
 * the marker line to find units of secrets that are gone.
 */
export function isHomeageUnitName(file: string): boolean {
    if (file === BATCH_UNIT || file === TARGET_UNIT) return true
    return file.startsWith(`${UNIT_PREFIX}-`) && file.endsWith(".service")
}
