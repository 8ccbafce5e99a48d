/**
 * Issue 25 item 8: `src/http/` is latchkey's framework-free HTTP core, which every adapter
 * (Fastify's included, in `src/adapters/`) runs its routes through. Before, four of its
 * files imported Fastify and the Fastify adapter itself lived there.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import * as verifyPackage from "@latchkey/verify";
import { describe, expect, it } from "vitest";
import { addVary } from "../../packages/latchkey/src/http/answer.js";
import * as errors from "../../packages/latchkey/src/http/errors.js";
import { DRAIN_MAX_BYTES, drainBody, readNodeBody } from "../../packages/latchkey/src/http/node-body.js";
import { bodyOf, type IncomingFacts, PayloadTooLarge } from "../../packages/latchkey/src/http/request.js";
import * as latchkeyVerify from "../../packages/latchkey/src/verify.js";

const HTTP = fileURLToPath(new URL("../../packages/latchkey/src/http/", import.meta.url));
const SRC = fileURLToPath(new URL("../../packages/latchkey/src/", import.meta.url));
const PACKAGES = fileURLToPath(new URL("../../packages/", import.meta.url));

/** The `.ts` files under `dir`, relative to it. */
const sources = (dir: string) =>
  readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((name) => name.endsWith(".ts"));
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

describe("review of issue 25, item 5: a refused body is read away within bounds", () => {
  it("a body past the limit that never ends: after 1 s the reader gives up (the adapter closes the connection)", async () => {
    const trickle = new PassThrough();
    trickle.write("x".repeat(100));
    let gaveUp = 0;
    const started = Date.now();
    const refused = readNodeBody(trickle, String(100 * 1024 * 1024), 64, () => {
      gaveUp = Date.now();
    });
    await expect(refused).rejects.toBeInstanceOf(PayloadTooLarge);
    const deadline = Date.now() + 3000;
    while (gaveUp === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(gaveUp - started).toBeGreaterThanOrEqual(900);
    expect(gaveUp - started).toBeLessThan(2000);
    trickle.destroy();
  });

  it("a body that keeps coming: past 8 MiB read away the reader gives up, and reads no more", async () => {
    const flood = new PassThrough();
    let gaveUp = false;
    drainBody(flood, () => {
      gaveUp = true;
    });
    const chunk = Buffer.alloc(1024 * 1024);
    for (let i = 0; i <= DRAIN_MAX_BYTES / chunk.length && !gaveUp; i++) {
      flood.write(chunk);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(gaveUp).toBe(true);
    expect(flood.isPaused()).toBe(true);
    flood.destroy();
  });

  it("a body that ends within the bounds is read away without giving up", async () => {
    const small = new PassThrough();
    let gaveUp = false;
    drainBody(small, () => {
      gaveUp = true;
    });
    small.end("x".repeat(1000));
    await new Promise((resolve) => small.once("end", resolve));
    expect(gaveUp).toBe(false);
  });
});

describe("review of issue 25, item 3: one way to a body", () => {
  it("a request's body is always read under the body rules: a `parsedBody` handed in is ignored", async () => {
    const incoming = {
      method: "POST",
      path: "/auth/login",
      query: new URLSearchParams(),
      headers: { "content-type": "text/plain" },
      ip: "192.0.2.1",
      readBody: async () => new TextEncoder().encode('{"username":"a","password":"b"}'),
      parsedBody: { username: "a", password: "b" },
    } as IncomingFacts;
    await expect(bodyOf(incoming, false)).rejects.toMatchObject({ code: "unsupported_media_type" });
  });
});

describe("review of issue 25, item 8: addVary", () => {
  it("adds a name to the host's Vary once, keeps the host's, and leaves * alone", () => {
    expect(addVary(undefined, "Origin")).toBe("Origin");
    expect(addVary("Accept-Encoding", "Origin")).toBe("Accept-Encoding, Origin");
    expect(addVary("accept-encoding, origin", "Origin")).toBe("accept-encoding, origin");
    expect(addVary(["Accept-Encoding", "Cookie"], "Origin")).toBe("Accept-Encoding, Cookie, Origin");
    expect(addVary("*", "Origin")).toBe("*");
  });
});

describe("review of issue 25, items 10 and 11: one copy of each helper, a curated surface", () => {
  it("each shared helper is declared once in latchkey's sources; GENERIC is the errors file's own; src/verify/ is gone", () => {
    const declared = (name: string) =>
      sources(SRC).filter((file) =>
        new RegExp(`function ${name}\\b|const ${name}\\b`).test(readFileSync(join(SRC, file), "utf8")),
      );
    expect(declared("drained")).toEqual(["http/node-stream.ts"]);
    expect(declared("authRequestOf")).toEqual(["http/request.ts"]);
    expect(declared("drainBody")).toEqual(["http/node-body.ts"]);
    expect(declared("addVary")).toEqual(["http/answer.ts"]);
    expect(Object.keys(errors)).not.toContain("GENERIC");
    expect(existsSync(join(SRC, "verify"))).toBe(false);
  });

  it("no source file of any package re-exports with export *", () => {
    const found = readdirSync(PACKAGES).flatMap((name) => {
      const src = join(PACKAGES, name, "src");
      if (!existsSync(src)) return [];
      return sources(src)
        .filter((file) => /^\s*export \*/m.test(readFileSync(join(src, file), "utf8")))
        .map((file) => `${name}/src/${file}`);
    });
    expect(found).toEqual([]);
  });

  it("latchkey/verify re-exports everything @latchkey/verify exports", () => {
    expect(Object.keys(latchkeyVerify).sort()).toEqual(Object.keys(verifyPackage).sort());
  });
});
