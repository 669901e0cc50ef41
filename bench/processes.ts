/**
 * Running the programs being measured: one child process at a time, timed
 * from spawn to exit, failing loudly when a program does not succeed (a
 * benchmark of a failing command would measure nothing).
 */
import { spawn } from "node:child_process"
import { existsSync } from "node:fs"
import { readFile, rm } from "node:fs/promises"
import { join } from "node:path"

/** Longest a measured program may run before it is killed (10 minutes, in ms). */
const CHILD_TIMEOUT_MS = 10 * 60 * 1000

/** Bytes of a child's standard error kept for the failure message (8 KiB). */
const KEPT_STDERR_BYTES = 8 * 1024

/** `/usr/bin/time` (Debian package `time`), which reports a child's peak memory. */
export const GNU_TIME = "/usr/bin/time"

/** How one program is run. */
export interface Command {
    /** Program path or name (looked up in PATH). */
    program: string
    args: string[]
    env?: NodeJS.ProcessEnv
    cwd?: string
}

/** What a finished run took and printed. */
export interface Finished {
    /** Wall-clock time from spawn to exit, in seconds. */
    seconds: number
    stdout: string
}

/** Thrown when a measured program fails, with the end of its standard error. */
export class ProgramError extends Error {
    override readonly name = "ProgramError"
}

/**
 * Runs `command` to completion and returns its wall-clock time. Standard
 * output is kept (small outputs only: version strings, reports); standard
 * error is kept for the message when the exit status is not 0, which throws a
 * {@link ProgramError}. A program still running after 10 minutes is killed.
 */
export function run(command: Command): Promise<Finished> {
    return new Promise((resolve, reject) => {
        const started = process.hrtime.bigint()
        const child = spawn(command.program, command.args, {
            env: command.env ?? process.env,
            cwd: command.cwd,
            stdio: ["ignore", "pipe", "pipe"],
        })
        const out: Buffer[] = []
        let err = Buffer.alloc(0)
        child.stdout.on("data", (b: Buffer) => out.push(b))
        child.stderr.on("data", (b: Buffer) => {
            err = Buffer.concat([err, b]).subarray(-KEPT_STDERR_BYTES)
        })
        const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS)

        child.on("error", (e) => {
            clearTimeout(timer)
            reject(new ProgramError(`cannot run ${command.program}: ${e.message}`))
        })
        child.on("close", (code, signal) => {
            const seconds = Number(process.hrtime.bigint() - started) / 1e9
            clearTimeout(timer)
            if (code === 0) {
                resolve({ seconds, stdout: Buffer.concat(out).toString("utf8") })
                return
            }
            const how = signal === null ? `exit status ${code}` : `signal ${signal}`
            reject(new ProgramError(`${describe(command)} failed (${how}):\n` +
                err.toString("utf8").trimEnd()))
        })
    })
}

/** Whether {@link peakMemoryKiB} can measure anything here. */
export function canMeasureMemory(): boolean {
    return existsSync(GNU_TIME)
}

/**
 * Runs `command` under `/usr/bin/time` and returns the child's peak resident
 * memory (the kernel's RSS high-water mark, from wait4) in KiB, with the
 * run's wall-clock time. `scratch` is a folder for the report file.
 */
export async function peakMemoryKiB(
    command: Command, scratch: string,
): Promise<{ kib: number, seconds: number }> {
    const report = join(scratch, "peak-memory.txt")
    const finished = await run({
        ...command,
        program: GNU_TIME,
        args: ["-f", "%M", "-o", report, command.program, ...command.args],
    })
    const text = (await readFile(report, "utf8")).trim()
    await rm(report, { force: true })

    const kib = Number(text.split("\n").pop())
    if (!Number.isFinite(kib)) throw new ProgramError(`${GNU_TIME} printed ${text}`)
    return { kib, seconds: finished.seconds }
}

/** A command as a shell would show it, for messages. */
export function describe(command: Command): string {
    return [command.program, ...command.args].join(" ")
}
