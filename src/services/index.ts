/**
 * The service layer: what brings secrets back at login, per installation type
 * (SPEC §6). Activation picks a {@link ServiceManager} with
 * {@link createServiceManager}, asks it for a plan during its checks, and
 * applies the plan after its switch.
 */
import type { InstallationType } from "../config/types.js"
import { OperationError } from "../errors.js"
import { LaunchdServiceManager } from "./launchd.js"
import type { ProcessRunner } from "./process.js"
import { SystemdServiceManager } from "./systemd-install.js"
import { Systemctl } from "./systemctl.js"
import type { ActivationPlan, ServiceManager, ServicePlan, ServiceSetup } from "./types.js"

export { defaultServicePath, validateSetup } from "./setup.js"
export { BATCH_UNIT, secretUnitName, systemdEscape, TARGET_UNIT } from "./systemd-names.js"
export { FROM_UNIT_FLAG } from "./systemd.js"
export { userUnitDir } from "./systemd-install.js"
export { launchdPaths, LAUNCHD_LABEL } from "./launchd.js"
export { unreachableMessage } from "./systemctl.js"
export type {
    ActivationPlan, LaunchdPlan, ServiceLog, ServiceManager, ServicePlan, ServiceSecret,
    ServiceSetup, SystemdPlan,
} from "./types.js"

/**
 * The {@link ServiceManager} for `installationType = "activation"`: no service
 * at all; secrets are decrypted during `activate` only, and the user runs
 * `homeage start` at login some other way.
 */
export class ActivationServiceManager implements ServiceManager {
    readonly kind = "activation"

    /** An empty plan: nothing to install. */
    plan(): Promise<ActivationPlan> {
        return Promise.resolve({ kind: "activation", problems: [], summary: [] })
    }

    /** Nothing to do; refuses a plan of another type. */
    apply(plan: ServicePlan): Promise<void> {
        if (plan.kind === "activation") return Promise.resolve()
        return Promise.reject(new OperationError(
            `a ${plan.kind} plan cannot be applied without a service manager`))
    }

    /** Nothing was installed, so nothing is removed. */
    remove(): Promise<void> {
        return Promise.resolve()
    }

    /** Nothing was installed, so removal cannot fail. */
    removalProblems(): Promise<string[]> {
        return Promise.resolve([])
    }

    /** No files, so no folders. */
    readonly folders: readonly string[] = []
}

/** Replacements for the real service manager tools, for tests. */
export interface ServiceManagerOptions {
    /** Runs `systemctl`; default: the real one with this process's environment. */
    systemctl?: ProcessRunner
    /** Runs `launchctl`; default: the real one, on macOS only. */
    launchctl?: ProcessRunner
}

/**
 * The service manager for an installation type. When the type changes between
 * two activations, activation should call `remove` on the manager of the old
 * type, so no unit or agent of it is left behind.
 */
export function createServiceManager(
    kind: InstallationType,
    setup: ServiceSetup,
    options: ServiceManagerOptions = {},
): ServiceManager {
    switch (kind) {
        case "systemd":
            return new SystemdServiceManager(setup, new Systemctl(options.systemctl))
        case "launchd":
            return new LaunchdServiceManager(setup, options.launchctl)
        case "activation":
            return new ActivationServiceManager()
    }
}
