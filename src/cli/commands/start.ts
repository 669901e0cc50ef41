import { OperationError } from "../../errors.js"
import type { CommandRun } from "../context.js"

/** `homeage start`: not available in this version. */
export const run: CommandRun = () => Promise.reject(
    new OperationError("the start command is not available in this version"))
