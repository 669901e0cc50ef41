/**
 * The config side of activation: finding and loading the config file, and
 * turning it into what an activation wants, with the conflicts between its
 * secrets' outputs as check problems.
 */
import {
    environment, findConfigFile, findConflicts, loadConfig, type Config, type Environment,
} from "../config/index.js"
import { statePaths, type StatePaths } from "../generations/state.js"
import { desiredFromConfig, type Desired } from "./desired.js"

/** A loaded config and what activation needs from it. */
export interface ActivationInput {
    config: Config
    desired: Desired
    /** Conflicting outputs between secrets, as check problems. */
    conflicts: string[]
    env: Environment
    paths: StatePaths
}

/**
 * Finds and loads the config (`--config` value, else the SPEC §3 search),
 * reads every source, and finds conflicts, outputs in or above the state dir
 * included. Config errors throw a `UsageError`
 * (exit 2); unreadable sources and unknown owners become check problems.
 */
export async function loadActivationInput(
    explicit: string | undefined, processEnv: NodeJS.ProcessEnv, cwd: string,
): Promise<ActivationInput> {
    const env = environment(processEnv)
    const file = findConfigFile({ explicit, env, cwd })
    const config = await loadConfig(file, env)
    const paths = stateFor(env)
    return {
        config,
        desired: await desiredFromConfig(config),
        conflicts: findConflicts(config, { stateDir: paths.root }),
        env,
        paths,
    }
}

/** The state dir for a resolved environment. */
export function stateFor(env: Environment): StatePaths {
    return statePaths({ XDG_STATE_HOME: env.XDG_STATE_HOME, HOME: env.HOME })
}
