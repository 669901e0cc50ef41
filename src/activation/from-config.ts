/**
 * The config side of activation: finding and loading the config file, and
 * turning it into what an activation wants, with the conflicts between its
 * secrets' outputs as check problems.
 */
import {
    cacheValidatedConfig, environment, findConfigFile, findConflicts, loadConfig, type Config,
    type Environment,
} from "../config/index.js"
import { stateFor, type StatePaths } from "../generations/state.js"
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
 * included. A config validated before is taken from the state dir's cache
 * (see config/cache.ts). Config errors throw a `UsageError`
 * (exit 2); unreadable sources and unknown owners become check problems.
 */
export async function loadActivationInput(
    explicit: string | undefined, processEnv: NodeJS.ProcessEnv, cwd: string,
): Promise<ActivationInput> {
    const env = environment(processEnv)
    const file = findConfigFile({ explicit, env, cwd })
    const paths = stateFor(env)
    const config = await loadConfig(file, env, { cacheFile: paths.configCache })
    return {
        config,
        desired: await desiredFromConfig(config),
        conflicts: findConflicts(config, { stateDir: paths.root }),
        env,
        paths,
    }
}

/**
 * Keeps the validated form of `input`'s config in the state dir, so that the
 * next run with the same config file skips its validation. For a command to
 * call once its run has succeeded (an `activate` that is not a dry run): a
 * failing run then leaves the state dir as it was. Does nothing when the
 * config came from the cache or the state dir does not exist.
 */
export async function rememberConfig(input: ActivationInput): Promise<void> {
    await cacheValidatedConfig(input.config, input.paths.configCache)
}

export { stateFor }
