import { OperationError } from "../../errors.js"
import type { CommandRun } from "../context.js"

/** `homeage status`: not available in this version. */
export const run: CommandRun = () => Promise.reject(
    new OperationError("the status command is not available in this version"))
