/**
 * Issue 25 item 2: the `latchkey` entry's type declarations imported `fastify`, so an
 * Express-only or Hono-only app failed `tsc` ("Cannot find module 'fastify'") unless it
 * skipped library checks. Only `latchkey/fastify`'s types may reach Fastify: the
 * declarations of every other entry point, followed through every import (a `declare
 * module "fastify"` included), must load no file of fastify or a Fastify plugin. Reads
 * the build (`npm run build:server`).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const DIST = fileURLToPath(new URL("../../packages/latchkey/dist/", import.meta.url));
const FASTIFY_FILE = /\/node_modules\/(fastify|@fastify\/[^/]+|fastify-plugin)\//;
const OTHER_ENTRIES = [
  "index",
  "express",
  "hono",
  "fetch",
  "sqlite",
  "postgres",
  "redis",
  "memory",
  "testing",
  "verify",
  "internal",
];

const OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2023,
  strict: true,
  noEmit: true,
  types: [],
};
// One parse of each file for every entry's program.
const host = ts.createCompilerHost(OPTIONS);
const parsed = new Map<string, ts.SourceFile | undefined>();
const parse = host.getSourceFile.bind(host);
host.getSourceFile = (name, ...rest) => {
  if (!parsed.has(name)) parsed.set(name, parse(name, ...rest));
  return parsed.get(name);
};

/** The files of Fastify (or its plugins) that the declarations of `entry` load. */
function fastifyFilesOf(entry: string): string[] {
  const program = ts.createProgram([`${DIST}${entry}.d.ts`], OPTIONS, host);
  return program
    .getSourceFiles()
    .map((file) => file.fileName)
    .filter((name) => FASTIFY_FILE.test(name))
    .map((name) => name.slice(name.lastIndexOf("/node_modules/") + 1));
}

describe("the entry points' type declarations", () => {
  it("reach Fastify from latchkey/fastify alone", () => {
    expect(existsSync(`${DIST}index.d.ts`), "build first: npm run build:server").toBe(true);
    // The check sees Fastify where it is.
    expect(fastifyFilesOf("fastify").some((name) => name.startsWith("node_modules/fastify/"))).toBe(true);
    const reached = OTHER_ENTRIES.map((entry) => [entry, fastifyFilesOf(entry).slice(0, 3)]);
    expect(reached).toEqual(OTHER_ENTRIES.map((entry) => [entry, []]));
  }, 60_000);
});
