/**
 * Issue 30, "Compare the strategies without restarting" and "The insecure versions,
 * safely": `GET /api/demo/compare` runs sign-in, a protected request, sign-out and a reuse
 * of the old credential through throwaway latchkey instances under every strategy, and
 * its transcript carries no usable secret; the lab's server pages take only a fake token,
 * echo nothing unescaped and keep a CSP with no script at all.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Comparison,
  compareStrategies,
  DEMO_FLOWS,
  STRATEGY_COSTS,
} from "../../packages/server/src/app/demo-compare.js";
import { type Harness, startHarness } from "../helpers/harness.js";

let h: Harness;
let transcript: Comparison;
beforeAll(async () => {
  h = await startHarness({ AUTH_STRATEGY: "session" });
  const response = await h.app.inject({ method: "GET", url: "/api/demo/compare" });
  expect(response.statusCode).toBe(200);
  transcript = response.json();
}, 60_000);
afterAll(async () => {
  await h?.close();
});

const flow = (id: string) => {
  const found = transcript.flows.find((f) => f.id === id);
  if (!found) throw new Error(`no flow ${id}`);
  return found;
};
const step = (id: string, name: string) => {
  const found = flow(id).steps.find((s) => s.name === name);
  if (!found) throw new Error(`no step ${name} in ${id}`);
  return found;
};
const setNames = (id: string, name: string) => step(id, name).response.setCookies.map((c) => c.name);
/** Every string anywhere in a JSON value. */
const strings = (value: unknown): string[] =>
  typeof value === "string"
    ? [value]
    : value !== null && typeof value === "object"
      ? Object.values(value).flatMap(strings)
      : [];

describe("GET /api/demo/compare", () => {
  it("runs the four steps under session, jwt, hybrid and jwt with revocation at expiry, whatever the server's strategy", () => {
    expect(transcript.flows.map((f) => [f.id, f.strategy, f.revocation])).toEqual([
      ["session", "session", "immediate"],
      ["jwt", "jwt", "immediate"],
      ["hybrid", "hybrid", "immediate"],
      ["jwt-expiry", "jwt", "expiry"],
    ]);
    for (const f of transcript.flows) {
      expect(f.steps.map((s) => s.name)).toEqual(["sign-in", "request", "sign-out", "reuse"]);
      expect(f.steps.slice(0, 3).map((s) => s.response.status)).toEqual([200, 200, 204]);
    }
  });

  it("refuses the signed-out credential under each strategy; under jwt with REVOCATION=expiry the access token still works", () => {
    for (const id of ["session", "jwt", "hybrid"]) {
      expect([id, step(id, "reuse").response.status, step(id, "reuse").response.errorCode]).toEqual([
        id,
        401,
        "unauthenticated",
      ]);
    }
    expect(step("jwt-expiry", "reuse").response.status).toBe(200);
  });

  it("shows each strategy's cookies, their attributes, and what the reuse sends", () => {
    expect(setNames("session", "sign-in")).toEqual(expect.arrayContaining(["__Host-sid", "__Host-csrf"]));
    expect(setNames("session", "sign-in")).not.toContain("__Host-at");
    expect(setNames("jwt", "sign-in")).toEqual(expect.arrayContaining(["__Host-at", "__Host-rt", "__Host-csrf"]));
    expect(setNames("jwt", "sign-in")).not.toContain("__Host-sid");
    expect(setNames("hybrid", "sign-in")).toEqual(expect.arrayContaining(["__Host-at", "__Host-sid", "__Host-csrf"]));
    const sid = step("session", "sign-in").response.setCookies.find((c) => c.name === "__Host-sid");
    expect(sid?.attributes).toEqual(expect.arrayContaining(["HttpOnly", "Secure", "SameSite=Lax", "Path=/"]));
    const csrf = step("session", "sign-in").response.setCookies.find((c) => c.name === "__Host-csrf");
    expect(csrf?.attributes).not.toContain("HttpOnly");
    // Sign-out clears the cookies; the reuse sends the ones held before it.
    expect(step("jwt", "sign-out").response.setCookies.filter((c) => c.name === "__Host-at")[0]?.value).toBe("cleared");
    expect(step("jwt", "sign-out").request.headers.map((header) => header.name)).toEqual(["X-CSRF-Token"]);
    expect(step("jwt", "reuse").request.cookies).toEqual(step("jwt", "request").request.cookies);
  });

  it("shows what each strategy stores: a session row until sign-out, jwt's refresh token row, the revocation", () => {
    for (const id of ["session", "jwt", "hybrid"]) {
      expect([id, step(id, "sign-in").stored.sessions.length]).toEqual([id, 1]);
      expect([id, step(id, "sign-out").stored.sessions.length]).toEqual([id, 0]);
      expect(step(id, "sign-out").stored.revocations.map((r) => r.kind)).toContain("session_ended");
    }
    expect(step("session", "sign-in").stored.refreshTokens).toEqual([]);
    expect(step("jwt", "sign-in").stored.refreshTokens.map((r) => r.state)).toEqual(["current"]);
    expect(step("jwt", "sign-in").stored.refreshTokens[0]?.sessionId).toBe(
      step("jwt", "sign-in").stored.sessions[0]?.id,
    );
    expect(step("jwt", "sign-out").stored.refreshTokens.map((r) => r.state)).not.toContain("current");
  });

  it("redacts every secret: fingerprints and shapes only, nothing that reads as a token or a session cookie", async () => {
    for (const f of transcript.flows) {
      for (const s of f.steps) {
        for (const cookie of [...s.request.cookies, ...s.request.headers])
          expect(cookie.value).toMatch(/^#[0-9a-f]{8}$/);
        for (const cookie of s.response.setCookies) expect(cookie.value).toMatch(/^(#[0-9a-f]{8}|cleared)$/);
      }
    }
    for (const text of strings(transcript)) {
      // A JWT (three base64url parts) or a session cookie (`id.secret`).
      expect(text).not.toMatch(/[\w-]{16,}\.[\w-]{16,}/);
    }
    // The raw values of a run (cookies, tokens, ids, hashes, the password) appear nowhere in
    // its transcript, not even in part.
    const secrets = new Set<string>();
    const run = JSON.stringify(await compareStrategies({ onSecret: (value) => secrets.add(value) }));
    const long = [...secrets].filter((secret) => secret.length >= 16);
    expect(long.length).toBeGreaterThan(20);
    expect(long.filter((secret) => run.includes(secret.slice(0, 12)))).toEqual([]);
  });

  it("shows the README's measured costs: the page's numbers and the README's row are one text", () => {
    const readme = readFileSync(join(process.cwd(), "README.md"), "utf8");
    const row = readme.split("\n").find((line) => line.startsWith("| what a request costs (measured, below) |"));
    const cells = row?.split(" | ").map((cell) => cell.replace(/^\| /, "").trim());
    expect(cells?.slice(1, 4)).toEqual([STRATEGY_COSTS.session, STRATEGY_COSTS.jwt, STRATEGY_COSTS.hybrid]);
    for (const f of transcript.flows) expect(f.cost).toBe(STRATEGY_COSTS[f.strategy]);
  });

  it("shares one run between requests, needs no credential, and touches none of the server's stores", async () => {
    const again = await h.app.inject({ method: "GET", url: "/api/demo/compare?x=1" });
    expect(again.statusCode).toBe(200);
    expect(again.json().ranAt).toBe(transcript.ranAt);
    expect(await h.stores.users.list()).toEqual([]);
    expect(await h.stores.sessions.listLive(Date.now())).toEqual([]);
    expect(DEMO_FLOWS).toHaveLength(transcript.flows.length);
  });

  it("is in the OpenAPI document, public, with its schema", async () => {
    const document = (await h.app.inject({ method: "GET", url: "/openapi.json" })).json();
    const operation = document.paths["/api/demo/compare"]?.get;
    expect(operation?.operationId).toBe("compareStrategies");
    expect(operation?.tags).toEqual(["demo"]);
    expect(Object.keys(operation?.responses ?? {})).toContain("200");
  });
});

describe("the insecure lab's server pages", () => {
  it("shows the fake token of its own address, served with the chosen Referrer-Policy and a CSP with no script", async () => {
    const response = await h.app.inject({ method: "GET", url: "/lab/leaky?policy=unsafe-url&token=FAKE-abc123" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["referrer-policy"]).toBe("unsafe-url");
    const csp = String(response.headers["content-security-policy"]);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'self'");
    expect(csp).not.toContain("script-src");
    expect(response.headers["x-frame-options"]).toBe("SAMEORIGIN");
    expect(response.body).toContain("/lab/leaky?policy=unsafe-url&amp;token=FAKE-abc123");
  });

  it("refuses anything but a fake token and a known policy with a 400, never a 500", async () => {
    for (const query of [
      "",
      "policy=unsafe-url",
      "policy=unsafe-url&token=eyJhbGciOiJFZERTQSJ9.e30.sig",
      "policy=unsafe-url&token=FAKE-<script>",
      "policy=origin&token=FAKE-abcd",
      "policy=unsafe-url&token=FAKE-abcd&extra=1",
      "policy=unsafe-url&token=FAKE-abcd&token=FAKE-efgh",
    ]) {
      const response = await h.app.inject({ method: "GET", url: `/lab/leaky?${query}` });
      expect([query, response.statusCode]).toEqual([query, 400]);
    }
  });

  it("echoes the Referer it receives, escaped, and says whether a token leaked", async () => {
    const leaked = await h.app.inject({
      method: "GET",
      url: "/lab/third-party",
      headers: { referer: 'http://localhost:3000/lab/leaky?token=FAKE-abcd&x="<b>' },
    });
    expect(leaked.statusCode).toBe(200);
    expect(leaked.body).toContain("token=FAKE-abcd&amp;x=&quot;&lt;b&gt;");
    expect(leaked.body).toContain("The token leaked");
    const none = await h.app.inject({ method: "GET", url: "/lab/third-party" });
    expect(none.body).toContain("No <code>Referer</code> header arrived");
    expect((await h.app.inject({ method: "GET", url: "/lab/lab.css" })).headers["content-type"]).toContain("text/css");
  });
});
