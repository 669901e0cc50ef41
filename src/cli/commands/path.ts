import { OperationError } from "../../errors.js"
import type { CommandRun } from "../context.js"

/** `homeage path`: not available in this version. */
export const run: CommandRun = () => Promise.reject(
    new OperationError("the path command is not available in this version"))
