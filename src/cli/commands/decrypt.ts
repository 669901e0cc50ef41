import { OperationError } from "../../errors.js"
import type { CommandRun } from "../context.js"

/** `homeage decrypt`: not available in this version. */
export const run: CommandRun = () => Promise.reject(
    new OperationError("the decrypt command is not available in this version"))
