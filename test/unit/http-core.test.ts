/**
 * Issue 25 item 8: `src/http/` is latchkey's framework-free HTTP core, which every adapter
 * (Fastify's included, in `src/adapters/`) runs its routes through. Before, four of its
 * files imported Fastify and the Fastify adapter itself lived there.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { readNodeBody } from "../../packages/latchkey/src/http/node-body.js";
import { PayloadTooLarge } from "../../packages/latchkey/src/http/request.js";

const HTTP = fileURLToPath(new URL("../../packages/latchkey/src/http/", import.meta.url));
const FRAMEWORK = /^(fastify|fastify-plugin|@fastify\/.+|express|hono|hono\/.+|@hono\/.+)$/;

/** The module specifiers a file imports or re-exports, types included. */
function importsOf(source: string): string[] {
  return [...source.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm)].map(
    (match) => (match[1] ?? match[2]) as string,
  );
}

describe("src/http, the HTTP core", () => {
  it("imports no framework, not even its types", () => {
    const files = readdirSync(HTTP, { recursive: true, encoding: "utf8" }).filter((name) => name.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(10);
    const found = files.flatMap((name) =>
      importsOf(readFileSync(join(HTTP, name), "utf8"))
        .filter((specifier) => FRAMEWORK.test(specifier) || specifier.startsWith("../adapters/"))
        .map((specifier) => `${name}: ${specifier}`),
    );
    expect(found).toEqual([]);
  });
});

describe("readNodeBody, the body of a request on Node", () => {
  it("reads a body within the limit; an empty one is null; past the limit, PayloadTooLarge", async () => {
    const whole = new PassThrough();
    whole.end('{"a":1}');
    expect(Buffer.from((await readNodeBody(whole, "7", 64)) as Uint8Array).toString()).toBe('{"a":1}');
    const empty = new PassThrough();
    empty.end();
    expect(await readNodeBody(empty, undefined, 64)).toBeNull();
    const large = new PassThrough();
    large.end("x".repeat(65));
    await expect(readNodeBody(large, undefined, 64)).rejects.toBeInstanceOf(PayloadTooLarge);
    await expect(readNodeBody(new PassThrough(), "65", 64)).rejects.toBeInstanceOf(PayloadTooLarge);
  });

  it("a body cut off mid-way (the client went away) is a 400, not an error nobody expected (a 500 logged as a bug)", async () => {
    const cut = new PassThrough();
    cut.write('{"a":');
    const read = readNodeBody(cut, "100", 1024);
    cut.destroy(Object.assign(new Error("aborted"), { code: "ECONNRESET" }));
    await expect(read).rejects.toMatchObject({ statusCode: 400 });
  });
});
