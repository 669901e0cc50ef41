/**
 * The static defaults of a config file, apart from the schema so that code
 * needing only them does not load the schema library.
 */

/** The `mode` a secret gets when it declares none: readable by its owner only. */
export const DEFAULT_MODE = "0400"

/** How many generations are kept when the config says nothing. */
export const DEFAULT_GENERATIONS_TO_KEEP = 10
