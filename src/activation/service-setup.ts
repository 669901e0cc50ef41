/**
 * What the login services need to run this very homeage again without a login
 * shell: the absolute Node.js binary and CLI, an explicit `PATH`, and the
 * state dir, so `homeage start` at login finds the generation `activate` made.
 */
import { join } from "node:path"

import type { Environment } from "../config/environment.js"
import { packageRoot } from "../package.js"
import { createServiceManager, defaultServicePath } from "../services/index.js"
import type { ServiceManagerOptions } from "../services/index.js"
import type { ServiceSetup } from "../services/types.js"
import type { ServiceManagers } from "./services.js"

/** The absolute path of the CLI entry point, `bin/homeage.js` of the package this module is in. */
export function cliEntryPoint(): string {
    return join(packageRoot(), "bin", "homeage.js")
}

/**
 * The setup of the units and agents for the user of `env`: this process's
 * Node.js binary, {@link cliEntryPoint}, {@link defaultServicePath}, and
 * `XDG_STATE_HOME` resolved to an absolute path.
 */
export function serviceSetup(env: Environment): ServiceSetup {
    return {
        node: process.execPath,
        cli: cliEntryPoint(),
        path: defaultServicePath(process.execPath),
        environment: { XDG_STATE_HOME: env.XDG_STATE_HOME },
        home: env.HOME,
        configHome: env.XDG_CONFIG_HOME,
        uid: env.UID,
    }
}

/**
 * The service managers of every installation type for the user of `env`,
 * as activation, rollback and deactivate use them. `options` replaces the
 * real `systemctl`/`launchctl`, for tests.
 */
export function serviceManagers(
    env: Environment, options: ServiceManagerOptions = {},
): ServiceManagers {
    const setup = serviceSetup(env)
    return (kind) => createServiceManager(kind, setup, options)
}
