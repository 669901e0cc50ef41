/**
 * The config file's schema (SPEC §3), shared by TOML, YAML and JSON, and the
 * JSON Schema generated from it for editor completion. Checks that need the
 * environment or the disk (paths, sources, recipients) are in `load.ts`.
 * Nothing here may depend on the environment or the working folder: a file's
 * validated form is cached by its bytes alone (see cache.ts). Loading zod is
 * slow, so this module is loaded with `import()`, only to validate.
 */
import * as z from "zod"

import { DEFAULT_GENERATIONS_TO_KEEP, DEFAULT_MODE } from "./defaults.js"
import { NAME_PATTERN } from "./names.js"

export { DEFAULT_GENERATIONS_TO_KEEP, DEFAULT_MODE }

/** An octal mode of three digits, with an optional leading 0. */
const MODE_PATTERN = /^0?[0-7]{3}$/

/** A user or group: a name (POSIX portable characters) or a numeric id. */
const ACCOUNT_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/

/** Why a number is not a mode: the common trap of unquoted modes in YAML and TOML. */
export const MODE_NUMBER_MESSAGE = "must be a quoted octal string such as \"0400\" "
    + "(unquoted, YAML reads 0400 as the number 400, and TOML refuses it)"

/** Why a string is not a mode. */
export const MODE_PATTERN_MESSAGE = "must be an octal mode such as \"0400\" or \"600\": "
    + "three digits 0-7, optionally after a 0"

const mode = z.string({
    error: (issue) => typeof issue.input === "number" ? MODE_NUMBER_MESSAGE : undefined,
}).regex(MODE_PATTERN, MODE_PATTERN_MESSAGE)

const account = (what: string): z.ZodString => z.string()
    .regex(ACCOUNT_PATTERN, `must be a ${what} name or a numeric id`)

const pathList = (about: string): z.ZodArray<z.ZodString> => z.array(z.string())
    .describe(about)

const recipientList = z.array(z.string())

/** One `[secrets.NAME]` table. Unknown keys are errors. */
export const secretSchema = z.strictObject({
    source: z.string().describe(
        "The age-encrypted file, relative to the config file's folder, or absolute."),
    path: z.string().optional().describe(
        "Where the plaintext is written. Default <runtimeDir>/<name>; a relative path is "
        + "under runtimeDir."),
    mode: mode.default(DEFAULT_MODE).describe(
        "Octal file mode of the plaintext and its copies, as a quoted string."),
    owner: account("user").optional().describe("User that owns the plaintext; default you."),
    group: account("group").optional().describe("Group of the plaintext; default yours."),
    symlinks: pathList("Symlinks to the plaintext: absolute paths or ~/…").default([]),
    copies: pathList(
        "Real-file copies of the plaintext, for programs that refuse symlinks: absolute "
        + "paths or ~/…").default([]),
    recipients: recipientList.min(1, "must list at least one recipient when given").optional()
        .describe("Recipients of this secret (age1…, ssh-ed25519 …, ssh-rsa …); "
            + "overrides the top-level list."),
}).describe("A secret: its encrypted source and where its plaintext goes.")

/** The installation types of SPEC §6. */
export const installationTypeSchema = z.enum(["systemd", "launchd", "activation"], {
    error: "must be \"systemd\", \"launchd\" or \"activation\"",
})

/** A whole config file, as written. Unknown keys are errors. */
export const configFileSchema = z.strictObject({
    $schema: z.string().optional().describe("The JSON Schema of this file, for editors."),
    identityPaths: pathList(
        "Identity files to decrypt with: absolute paths or ~/…. Default: those of "
        + "~/.ssh/id_ed25519, ~/.ssh/id_rsa and $XDG_CONFIG_HOME/homeage/identity.txt "
        + "that exist.").optional(),
    runtimeDir: z.string().optional().describe(
        "Folder that holds the plaintext, on a tmpfs. Default $XDG_RUNTIME_DIR/secrets."),
    installationType: installationTypeSchema.optional().describe(
        "How secrets come back at login. Default systemd on Linux, launchd on macOS."),
    recipients: recipientList.optional().describe(
        "Default recipients for encrypt, edit and rekey."),
    allowPersistentRuntimeDir: z.boolean().default(false).describe(
        "Accept a runtimeDir that is not on tmpfs or ramfs (plaintext then reaches the disk)."),
    generationsToKeep: z.int().min(1, "must be at least 1")
        .default(DEFAULT_GENERATIONS_TO_KEEP)
        .describe("How many generations to keep for rollback."),
    secrets: z.record(
        z.string().meta({
            pattern: NAME_PATTERN,
            description: "Secret name: letters, digits and . _ - /; a / makes a sub-folder.",
        }),
        secretSchema,
    ).default({}).describe("The secrets, by name."),
}).describe("homeage config file")

/** A config file as written, after schema validation and static defaults. */
export type ConfigFile = z.output<typeof configFileSchema>

/** One secret as written, after schema validation and static defaults. */
export type SecretFile = z.output<typeof secretSchema>

/**
 * The JSON Schema of the config file, as the text of schema/homeage.schema.json
 * (4-space indent, final newline). Editors use it for completion in JSON and
 * YAML files; the `$schema` key it allows lets a file point at it.
 */
export function renderJsonSchema(): string {
    const { $schema, ...rest } = z.toJSONSchema(configFileSchema,
        { io: "input", target: "draft-2020-12" })
    const ordered = { $schema, title: "homeage config", ...rest }
    return `${JSON.stringify(ordered, null, 4)}\n`
}
