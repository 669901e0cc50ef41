#!/usr/bin/env node
// Runs every compiled test file (dist/test/**/*.test.js) with Node's test runner.
// Usage: node scripts/run-tests.js [NAME-FILTER...]
import { spawnSync } from "node:child_process"
import { readdirSync, statSync } from "node:fs"
import { join } from "node:path"

function find(dir) {
    const out = []
    for (const entry of readdirSync(dir)) {
        const path = join(dir, entry)
        if (statSync(path).isDirectory()) out.push(...find(path))
        else if (entry.endsWith(".test.js")) out.push(path)
    }
    return out
}

const filters = process.argv.slice(2)
const files = find("dist/test").sort()
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
const result = spawnSync(process.execPath,
    ["--test", "--test-concurrency=2", "--test-reporter=spec", ...files],
    { stdio: "inherit" })
process.exit(result.status ?? 1)
