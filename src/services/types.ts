/**
 * The service layer's contract with activation: plain data in (secret names,
 * absolute paths, the Node.js and CLI paths), a plan out, and a call that
 * applies it. Nothing here depends on activation's own types, so either side
 * can change its internals freely.
 */
import type { InstallationType } from "../config/types.js"

/** One secret of the generation being installed, as the service layer needs it. */
export interface ServiceSecret {
    /** The secret's name from the config, e.g. `git/netrc`. */
    name: string
    /** Absolute path of the plaintext. */
    path: string
    /** Absolute paths of the symlinks to the plaintext. */
    symlinks: readonly string[]
    /** Absolute paths of the copies of the plaintext. */
    copies: readonly string[]
    /**
     * Whether the secret existed in the previous generation and its content or
     * outputs differ now. Its unit is restarted so that services requiring it
     * restart too. A secret that did not exist before counts as new, not changed.
     */
    changed: boolean
    /**
     * Whether activation found the secret's outputs missing or wrong and wrote
     * them again without a change of content (after a failed login, say). Its
     * unit may have failed meanwhile, so it is started again.
     */
    repaired?: boolean
}

/** How the units and agents run homeage: fixed, absolute, independent of a login shell. */
export interface ServiceSetup {
    /** Absolute path of the Node.js binary, e.g. `process.execPath`. */
    node: string
    /** Absolute path of the CLI entry point (`bin/homeage.js`). */
    cli: string
    /** The `PATH` every unit or agent sets explicitly; see {@link defaultServicePath}. */
    path: string
    /**
     * Further variables to set, such as `XDG_STATE_HOME`, so that `homeage start`
     * at login finds the same state as `activate` did. Names are shell-style
     * identifiers; `PATH` here is refused (it has its own field).
     */
    environment: Readonly<Record<string, string>>
    /** Absolute path of the user's home folder. */
    home: string
    /** Absolute `$XDG_CONFIG_HOME`; systemd user units go to `<configHome>/systemd/user`. */
    configHome: string
    /** The user's numeric id, for launchd's `gui/<uid>` domain. */
    uid: number
}

/** Where a service manager writes its lines; the CLI's Logger fits. */
export interface ServiceLog {
    /** One line per action, such as a unit started. */
    info(line: string): void
    /** Detail shown with `-v`, such as each systemctl call. */
    detail(line: string): void
    /** Something the user should know that does not stop the run. */
    warn(line: string): void
}

/** What installing the services for one generation will do, computed before anything changes. */
export interface ServicePlanBase {
    /** The installation type this plan is for. */
    kind: InstallationType
    /**
     * Reasons the plan cannot be applied, each naming the file or unit and the
     * fix (an unreachable manager, a file homeage does not own in the way).
     * Activation checks this before its switch, so nothing is half-installed.
     */
    problems: string[]
    /** One line per change the plan makes, for the report and `--dry-run`. */
    summary: string[]
}

/** A systemd plan: which unit files change and which units are started, restarted or removed. */
export interface SystemdPlan extends ServicePlanBase {
    kind: "systemd"
    /** Absolute path of the unit folder, `<configHome>/systemd/user`. */
    unitDir: string
    /** Unit files to write (file name to content): new ones and ones whose content differs. */
    write: Map<string, string>
    /** Units to enable for `default.target` (their `.wants` symlink is missing). */
    enable: string[]
    /** Units to start: those of new secrets, and the target. */
    start: string[]
    /** Units to restart: those of changed secrets. */
    restart: string[]
    /** Units homeage owns that no secret needs any more: stopped, disabled and deleted. */
    remove: string[]
}

/** A launchd plan: whether the agent's plist changes and must be reloaded. */
export interface LaunchdPlan extends ServicePlanBase {
    kind: "launchd"
    /** Absolute path of the plist under `~/Library/LaunchAgents/`. */
    plistPath: string
    /** The new plist content, or `undefined` when the file on disk is already current. */
    write: string | undefined
}

/** The plan of the `activation` installation type: no service at all. */
export interface ActivationPlan extends ServicePlanBase {
    kind: "activation"
}

/** A plan of any installation type. */
export type ServicePlan = SystemdPlan | LaunchdPlan | ActivationPlan

/**
 * Installs what makes secrets come back at login, for one installation type.
 * Activation calls {@link ServiceManager.plan} during its checks and
 * {@link ServiceManager.apply} after its switch.
 */
export interface ServiceManager {
    /** The installation type served. */
    readonly kind: InstallationType
    /**
     * Computes what to change for the new generation. `previous` holds the
     * names of the previous generation's secrets (empty for a first activation).
     * Reads the disk and asks the manager whether it is reachable, changes nothing.
     * Throws a UsageError when a secret name cannot become a unit name.
     */
    plan(previous: readonly string[], next: readonly ServiceSecret[]): Promise<ServicePlan>
    /**
     * Carries out a plan from {@link plan}. Refuses (OperationError, nothing
     * changed) when the plan has problems. Throws an OperationError listing the
     * units that failed to start, after every other step is done.
     */
    apply(plan: ServicePlan, log: ServiceLog): Promise<void>
    /** Stops and removes everything this installation type installed, for `deactivate`. */
    remove(log: ServiceLog): Promise<void>
    /**
     * Why {@link remove} could not do its whole job now (a manager that cannot
     * be reached while units are installed), each naming the fix; empty when
     * nothing is installed or removal would work. Changes nothing. Activation
     * asks this during its checks before it switches to another installation type.
     */
    removalProblems(): Promise<string[]>
    /**
     * The folders this manager writes its files into, innermost last (for
     * systemd the unit folder and its `default.target.wants`). Activation
     * records the ones that did not exist before it installed anything, so that
     * removing the services also removes those folders once empty.
     */
    readonly folders: readonly string[]
}
