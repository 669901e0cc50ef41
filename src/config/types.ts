/**
 * The resolved config: what a config file says once it is validated, defaults
 * are applied and every path is expanded to an absolute one. Activation works
 * from this (and from the manifest it writes), never from the raw file.
 */

/** How secrets come back at login (SPEC §6). */
export type InstallationType = "systemd" | "launchd" | "activation"

/** One declared secret, fully resolved. */
export interface SecretConfig {
    /** The secret's name: letters, digits and `. _ - /`; a `/` makes a sub-folder. */
    name: string
    /** Absolute path of the encrypted source file. */
    source: string
    /** Absolute path where the plaintext is written (under the runtime dir unless absolute). */
    path: string
    /** File mode of the plaintext and its copies, e.g. 0o400. */
    mode: number
    /** User name to own the plaintext; `undefined` means the running user. */
    owner: string | undefined
    /** Group name to own the plaintext; `undefined` means the running user's group. */
    group: string | undefined
    /** Absolute paths of symlinks to `path`. */
    symlinks: string[]
    /** Absolute paths of real-file copies of the plaintext. */
    copies: string[]
    /** The recipients to encrypt to: the secret's own list, else the top-level one. */
    recipients: string[]
}

/** A loaded config file. */
export interface Config {
    /** Absolute path of the config file. */
    file: string
    /** Absolute paths of identity files to try, in order. */
    identityPaths: string[]
    /** Absolute path of the folder that holds plaintext (tmpfs). */
    runtimeDir: string
    /** How secrets are restored at login. */
    installationType: InstallationType
    /** Top-level recipients for encrypt, edit and rekey. */
    recipients: string[]
    /** Whether a runtime dir not on tmpfs/ramfs is accepted (with a warning). */
    allowPersistentRuntimeDir: boolean
    /** How many generations to keep; older ones are pruned with their store files. */
    generationsToKeep: number
    /** The declared secrets, in file order. */
    secrets: SecretConfig[]
}
