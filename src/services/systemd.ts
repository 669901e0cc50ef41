/**
 * Renders the systemd user units that bring secrets back at login. Pure
 * functions from plain data to file contents; writing them and talking to the
 * manager live in systemd-install.ts and systemctl.ts.
 *
 * The design (docs/services.md explains it for users):
 * - `homeage.service` runs `homeage start` once for every secret, so at login
 *   one Node.js process does all the decryption.
 * - One `homeage-<escaped name>.service` per secret, ordered after it. Its
 *   start only checks, with `/bin/sh` and `test -s`, that the plaintext,
 *   symlinks and copies exist and are not empty; only when they are not does it
 *   run `homeage start NAME` for that one secret and check again. So it is
 *   active only when the secret is usable, failed when it is not, and it works
 *   on its own (after `activate`, or when the batch unit is disabled). Its stop
 *   runs `homeage stop --from-unit NAME`, which removes that secret's outputs
 *   (unless `activate` is replacing them: see activation/handover.ts).
 * - `homeage.target` requires and orders after every secret unit.
 */
import { isAbsolute } from "node:path"

import { UsageError } from "../errors.js"
import { validateSetup } from "./setup.js"
import { BATCH_UNIT, secretUnitName, TARGET_UNIT } from "./systemd-names.js"
import type { ServiceSecret, ServiceSetup } from "./types.js"

/** First line of every unit homeage writes; a file without it is never touched. */
export const UNIT_MARKER = "# Managed by homeage; changes are overwritten"

/** The shell that runs a secret unit's check; POSIX sh, present on every systemd system. */
export const UNIT_SHELL = "/bin/sh"

/**
 * The flag a secret unit's `ExecStop=` passes to `homeage stop`: a stop that
 * `activate` causes while it replaces the secret (a restart) keeps the new
 * files, so readers never see the secret missing; any other stop removes them.
 */
export const FROM_UNIT_FLAG = "--from-unit"

/** The target every unit is enabled for, so it starts at login. */
export const WANTED_BY = "default.target"

/** A word systemd reads back unchanged without quotes (`%` is already doubled). */
const PLAIN_WORD = /^[A-Za-z0-9_%+=:,./-]+$/

/**
 * The check a secret unit runs. Arguments: node, cli, secret name, then every
 * output path (plaintext, symlinks, copies). Exits 0 at once when every output
 * is a non-empty file (a symlink is followed); otherwise runs `homeage start`
 * for this secret and exits 1 naming the first output still missing or empty.
 */
const CHECK_SCRIPT = [
    "n=$1 c=$2 s=$3; shift 3",
    "ready() { for f; do [ -s \"$f\" ] || return 1; done; }",
    "ready \"$@\" && exit 0",
    "\"$n\" \"$c\" start -- \"$s\" || exit",
    "for f; do [ -s \"$f\" ] && continue",
    "echo \"homeage: secret $s: $f is missing or empty\" >&2; exit 1; done",
].join("; ")

/**
 * Quotes one word of an `ExecStart=`-style command line so that systemd reads
 * it back unchanged: `%` and `$` are doubled (no specifier or variable
 * expansion); no quotes for a plain word such as an ordinary path, single
 * quotes when that is enough, else double quotes with C escapes for `\`, `"`
 * and control characters.
 */
export function quoteExecWord(word: string): string {
    const literal = word.replaceAll("%", "%%").replaceAll("$", "$$$$")
    if (PLAIN_WORD.test(literal)) return literal
    if (!/['\\\p{Cc}]/u.test(literal)) return `'${literal}'`

    return `"${escapeC(literal)}"`
}

/**
 * Quotes a whole `NAME=value` assignment for `Environment=`: `%` doubled,
 * C escapes for `\`, `"` and control characters, in double quotes. `$` needs
 * nothing there, as systemd does not expand variables in `Environment=`.
 */
export function quoteAssignment(name: string, value: string): string {
    return `"${escapeC(`${name}=${value}`.replaceAll("%", "%%"))}"`
}

function escapeC(text: string): string {
    return text.replace(/[\\"\p{Cc}]/gu, (char) => {
        if (char === "\\") return "\\\\"
        if (char === "\"") return "\\\""
        if (char === "\n") return "\\n"
        if (char === "\t") return "\\t"
        const code = char.codePointAt(0) ?? 0
        return `\\x${code.toString(16).padStart(2, "0")}`
    })
}

function environmentLines(setup: ServiceSetup): string[] {
    const names = Object.keys(setup.environment).sort()
    const lines = [`Environment=${quoteAssignment("PATH", setup.path)}`]

    for (const name of names) {
        lines.push(`Environment=${quoteAssignment(name, setup.environment[name] ?? "")}`)
    }

    return lines
}

function command(words: readonly string[]): string {
    return words.map(quoteExecWord).join(" ")
}

function unitFile(sections: Record<string, string[]>): string {
    const parts = Object.entries(sections)
        .map(([name, lines]) => [`[${name}]`, ...lines].join("\n"))
    return `${UNIT_MARKER}\n${parts.join("\n\n")}\n`
}

/**
 * The batch unit `homeage.service`: a oneshot running `homeage start` for
 * every secret of the current generation, once, at login. It fails when any
 * secret could not be installed; the secret units then tell which.
 */
export function renderBatchUnit(setup: ServiceSetup): string {
    validateSetup(setup)

    return unitFile({
        Unit: [
            "Description=homeage: decrypt every secret into the runtime dir",
        ],
        Service: [
            "Type=oneshot",
            "RemainAfterExit=yes",
            ...environmentLines(setup),
            `ExecStart=${command([setup.node, setup.cli, "start"])}`,
        ],
        Install: [`WantedBy=${WANTED_BY}`],
    })
}

/**
 * The unit of one secret, `homeage-<escaped name>.service`: active only while
 * its plaintext, symlinks and copies exist and are not empty, failed when the
 * secret could not be installed; stopping it runs `homeage stop --from-unit
 * NAME`. Throws a UsageError when the name cannot become a unit name or a
 * path is relative.
 */
export function renderSecretUnit(secret: ServiceSecret, setup: ServiceSetup): string {
    validateSetup(setup)
    secretUnitName(secret.name)
    const outputs = [secret.path, ...secret.symlinks, ...secret.copies]
    const relative = outputs.filter((p) => !isAbsolute(p))
    if (relative.length > 0) {
        throw new UsageError(`secret ${secret.name}: output paths must be absolute: ` +
            relative.join(", "))
    }

    const check = [UNIT_SHELL, "-c", CHECK_SCRIPT, "homeage-check",
        setup.node, setup.cli, secret.name, ...outputs]
    return unitFile({
        Unit: [
            `Description=homeage secret ${secret.name.replaceAll("%", "%%")}`,
            `After=${BATCH_UNIT}`,
            `PartOf=${BATCH_UNIT}`,
        ],
        Service: [
            "Type=oneshot",
            "RemainAfterExit=yes",
            ...environmentLines(setup),
            `ExecStart=${command(check)}`,
            `ExecStop=${command([setup.node, setup.cli, "stop", FROM_UNIT_FLAG, "--",
                secret.name])}`,
        ],
        Install: [`WantedBy=${WANTED_BY}`],
    })
}

/**
 * The target `homeage.target`: requires and orders after every secret unit, so
 * a service that needs all secrets can `Requires=`/`After=` it. It fails to
 * start when any secret unit fails.
 */
export function renderTargetUnit(secretNames: readonly string[]): string {
    const units = secretNames.map(secretUnitName)

    return unitFile({
        Unit: [
            "Description=homeage: every secret installed",
            ...units.map((unit) => `Requires=${unit}`),
            ...units.map((unit) => `After=${unit}`),
        ],
        Install: [`WantedBy=${WANTED_BY}`],
    })
}

/**
 * Every unit file of a generation, file name to content: the batch unit, one
 * unit per secret, and the target. Throws a UsageError as the render functions do.
 */
export function renderUnits(
    secrets: readonly ServiceSecret[],
    setup: ServiceSetup,
): Map<string, string> {
    const files = new Map<string, string>()

    files.set(BATCH_UNIT, renderBatchUnit(setup))
    for (const secret of secrets) {
        files.set(secretUnitName(secret.name), renderSecretUnit(secret, setup))
    }
    files.set(TARGET_UNIT, renderTargetUnit(secrets.map((s) => s.name)))

    return files
}
