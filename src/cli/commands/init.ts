import { OperationError } from "../../errors.js"
import type { CommandRun } from "../context.js"

/** `homeage init`: not available in this version. */
export const run: CommandRun = () => Promise.reject(
    new OperationError("the init command is not available in this version"))
