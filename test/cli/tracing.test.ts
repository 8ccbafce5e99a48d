/**
 * OpenTelemetry traces from `latchkey serve`, exported over OTLP/HTTP (JSON) to a
 * collector this test runs on 127.0.0.1: a span per request, named by its route pattern,
 * with the store calls and the password hash it made as children; nothing that names a
 * user or holds a secret; and nothing at all without the OTEL_* variables.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/cluster.js";
import { HttpClient } from "../helpers/http-client.js";
import { type RunningServer, startServerProcess, within } from "../helpers/processes.js";

const PASSWORD = "correct horse battery staple";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: Array<{ key: string; value: { stringValue?: string; intValue?: number | string } }>;
}

/** An OTLP/HTTP receiver: keeps every body posted to /v1/traces. */
async function startCollector(): Promise<{
  url: string;
  bodies: string[];
  spans(): OtlpSpan[];
  close(): Promise<void>;
}> {
  const bodies: string[] = [];
  const server: Server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => {
      body += chunk;
    });
    request.on("end", () => {
      if (request.method === "POST" && request.url === "/v1/traces") bodies.push(body);
      response.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    bodies,
    spans: () =>
      bodies.flatMap((body) =>
        (
          JSON.parse(body) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: OtlpSpan[] }> }> }
        ).resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)),
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const attribute = (span: OtlpSpan, key: string) => {
  const value = span.attributes?.find((a) => a.key === key)?.value;
  return value?.stringValue ?? (value?.intValue === undefined ? undefined : Number(value.intValue));
};

describe("latchkey serve with OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", () => {
  let dir: string;
  let server: RunningServer;
  let collector: Awaited<ReturnType<typeof startCollector>>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-tracing-"));
    collector = await startCollector();
    server = await startServerProcess({
      DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}`,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: collector.url,
      OTEL_BSP_SCHEDULE_DELAY: "50",
      OTEL_SERVICE_NAME: "latchkey-under-test",
    });
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    await collector?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a span per request by route, with its store calls and password hash as children, and no identifier or secret", async () => {
    const origin = server.origin;
    const username = "traced-tamsin-4c1d";
    const browser = new HttpClient(origin);
    expect((await browser.request(origin, "POST", "/auth/register", { username, password: PASSWORD })).status).toBe(
      201,
    );
    expect((await browser.login(origin, username, PASSWORD)).status).toBe(200);
    const me = await browser.request(origin, "GET", "/auth/me");
    expect(me.status).toBe(200);
    const { user, session } = (await me.json()) as { user: { id: string }; session: { id: string } };

    const named = (name: string) => collector.spans().find((span) => span.name === name);
    await within(10_000, async () => named("GET /auth/me") !== undefined);
    const spans = collector.spans();
    const childrenOf = (parent: OtlpSpan | undefined) =>
      spans
        .filter((span) => parent && span.traceId === parent.traceId && span.parentSpanId === parent.spanId)
        .map((span) => span.name);

    const register = named("POST /auth/register");
    expect(register && attribute(register, "http.route")).toBe("/auth/register");
    expect(register && attribute(register, "http.response.status_code")).toBe(201);
    expect(childrenOf(register)).toEqual(expect.arrayContaining(["password hash", "store users.create"]));
    const login = named("POST /auth/login");
    expect(childrenOf(login)).toEqual(
      expect.arrayContaining(["store users.findByUsername", "password verify", "store sessions.create"]),
    );
    expect(childrenOf(named("GET /auth/me"))).toContain("store sessions.findWithUser");
    // The resource names the service as OTEL_SERVICE_NAME says.
    expect(collector.bodies.join("")).toContain("latchkey-under-test");

    const exported = collector.bodies.join("\n");
    for (const secret of [username, PASSWORD, user.id, session.id, browser.csrf, ...browser.cookies.values()]) {
      expect(exported.includes(secret), `the spans hold ${secret.slice(0, 8)}…`).toBe(false);
    }
    expect(exported).not.toMatch(/127\.0\.0\.1/);
  });
});

describe("latchkey serve without OTEL_* variables", () => {
  it("exports nothing", async () => {
    const dir = mkdtempSync(join(tmpdir(), "latchkey-tracing-"));
    const collector = await startCollector();
    const server = await startServerProcess({ DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}` });
    try {
      const origin = server.origin;
      const browser = new HttpClient(origin);
      expect(
        (await browser.request(origin, "POST", "/auth/register", { username: "untraced", password: PASSWORD })).status,
      ).toBe(201);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(collector.bodies).toEqual([]);
    } finally {
      await server.stop();
      await collector.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
