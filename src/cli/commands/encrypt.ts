import { OperationError } from "../../errors.js"
import type { CommandRun } from "../context.js"

/** `homeage encrypt`: not available in this version. */
export const run: CommandRun = () => Promise.reject(
    new OperationError("the encrypt command is not available in this version"))
