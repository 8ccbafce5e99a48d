import { Writable } from "node:stream";
import Fastify from "fastify";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { lazyChildLogger } from "../../packages/server/src/app/request-logger.js";

async function appLoggingAt(level: string) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const app = Fastify({ loggerInstance: pino({ level }, stream), childLoggerFactory: lazyChildLogger });
  app.get("/warn", async (request) => {
    request.log.info("an info line");
    request.log.warn({ detail: 1 }, "a warning");
    return { level: request.log.level, infoEnabled: (request.log as unknown as pino.Logger).isLevelEnabled("info") };
  });
  app.get("/nested", async (request) => {
    request.log.child({ part: "nested" }).warn("from a grandchild");
    return {};
  });
  app.get("/chatty", { logLevel: "debug" }, async (request) => {
    request.log.debug("a route at debug");
    return {};
  });
  await app.ready();
  return { app, lines };
}

describe("the lazy request logger", () => {
  it("writes enabled lines with the request id, and nothing below the level", async () => {
    const { app, lines } = await appLoggingAt("warn");
    const response = await app.inject({ method: "GET", url: "/warn" });
    expect(response.json()).toEqual({ level: "warn", infoEnabled: false });
    const messages = lines.map((l) => l.msg);
    expect(messages).not.toContain("an info line");
    expect(messages).not.toContain("incoming request");
    const warning = lines.find((l) => l.msg === "a warning");
    expect(warning).toMatchObject({ level: 40, detail: 1, reqId: expect.any(String) });
    await app.close();
  });

  it("keeps the request id on a child's lines, and a route's own level", async () => {
    const { app, lines } = await appLoggingAt("warn");
    await app.inject({ method: "GET", url: "/nested" });
    await app.inject({ method: "GET", url: "/chatty" });
    expect(lines.find((l) => l.msg === "from a grandchild")).toMatchObject({
      part: "nested",
      reqId: expect.any(String),
    });
    expect(lines.find((l) => l.msg === "a route at debug")).toMatchObject({ reqId: expect.any(String) });
    await app.close();
  });

  it("at info, logs each request as Fastify does, with one request id per request", async () => {
    const { app, lines } = await appLoggingAt("info");
    await app.inject({ method: "GET", url: "/warn" });
    const ofRequest = lines.filter((l) => l.reqId !== undefined);
    expect(ofRequest.map((l) => l.msg)).toEqual(["incoming request", "an info line", "a warning", "request completed"]);
    expect(new Set(ofRequest.map((l) => l.reqId)).size).toBe(1);
    await app.close();
  });
});
