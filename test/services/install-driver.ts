/**
 * Runs the systemd service manager in a process of its own, so a test can run
 * it as the test user against that user's real manager. Reads a request as
 * JSON on standard input and prints the plan and the outcome as JSON.
 */
import { HomeageError } from "../../src/errors.js"
import { createServiceManager } from "../../src/services/index.js"
import type { ServiceSecret, ServiceSetup } from "../../src/services/index.js"

/** What the test asks the driver to do. */
export interface DriverRequest {
    action: "apply" | "plan" | "remove"
    previous: string[]
    next: ServiceSecret[]
    setup: ServiceSetup
}

/** What the driver prints. */
export interface DriverResponse {
    summary: string[]
    problems: string[]
    write: string[]
    enable: string[]
    start: string[]
    restart: string[]
    remove: string[]
    log: string[]
    error?: { name: string, message: string, problems: readonly string[] }
}

async function readStdin(): Promise<string> {
    const chunks: Buffer[] = []
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString("utf8")
}

async function main(): Promise<void> {
    const request = JSON.parse(await readStdin()) as DriverRequest
    const manager = createServiceManager("systemd", request.setup)
    const lines: string[] = []
    const log = {
        info: (l: string) => lines.push(`info ${l}`),
        detail: (l: string) => lines.push(`detail ${l}`),
        warn: (l: string) => lines.push(`warn ${l}`),
    }
    const response: DriverResponse = {
        summary: [], problems: [], write: [], enable: [], start: [], restart: [], remove: [],
        log: lines,
    }

    try {
        if (request.action === "remove") {
            await manager.remove(log)
        } else {
            const plan = await manager.plan(request.previous, request.next)
            if (plan.kind !== "systemd") throw new Error("not a systemd plan")
            Object.assign(response, {
                summary: plan.summary, problems: plan.problems, write: [...plan.write.keys()],
                enable: plan.enable, start: plan.start, restart: plan.restart,
                remove: plan.remove,
            })
            if (request.action === "apply") await manager.apply(plan, log)
        }
    } catch (err) {
        if (!(err instanceof HomeageError)) throw err
        response.error = { name: err.name, message: err.message, problems: err.problems }
    }

    process.stdout.write(JSON.stringify(response))
}

await main()
