import { OperationError } from "../../errors.js"
import type { CommandRun } from "../context.js"

/** `homeage stop`: not available in this version. */
export const run: CommandRun = () => Promise.reject(
    new OperationError("the stop command is not available in this version"))
