/**
 * The hook through which a service manager (systemd user units, a launchd
 * agent) follows each activation. Activation calls it after a switch; with
 * `installationType = "activation"` there is none and secrets are decrypted
 * during `activate` only.
 */
import type { Manifest } from "../generations/manifest.js"
import type { Reporter } from "./report.js"

/** Installs what makes secrets come back at login for a generation. */
export interface ServiceManager {
    /**
     * Called once the switch to `generation` is complete and it is current.
     * `previous` is the generation it replaced, so units of removed secrets
     * can be stopped. Throws an `OperationError` when the manager fails.
     */
    install(
        generation: Manifest, previous: Manifest | undefined, reporter: Reporter,
    ): Promise<void>

    /** Removes every unit or agent it installed (for `deactivate`). */
    uninstall(reporter: Reporter): Promise<void>
}
