/**
 * Issue 34: Prometheus metrics on a listener of their own (METRICS_PORT), moving under a
 * scripted workload (sign-up, sign-in, failed and throttled sign-ins, logout), with no
 * username, id, address or secret in any label, and never on the public origin.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/cluster.js";
import { type RunningServer, startServerProcess } from "../helpers/processes.js";
import { sample } from "../helpers/prometheus.js";

const PASSWORD = "correct horse battery staple";
const ROOT = fileURLToPath(new URL("../../", import.meta.url));

describe("latchkey serve with METRICS_PORT", () => {
  let dir: string;
  let server: RunningServer;
  let metricsUrl: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-metrics-"));
    const metricsPort = await freePort();
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    server = await startServerProcess({
      DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}`,
      METRICS_PORT: String(metricsPort),
      LOGIN_MAX_FAILURES: "3",
      REFRESH_REUSE_LEEWAY: "0",
    });
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("counts requests, latencies and security events under a workload, with no identifier, address or secret in the scrape", async () => {
    const origin = server.origin;
    const headers = { "content-type": "application/json", origin };
    const username = "metrics-mallory-7f3a";
    const body = (password: string) => JSON.stringify({ username, password });
    expect((await fetch(`${origin}/auth/register`, { method: "POST", headers, body: body(PASSWORD) })).status).toBe(
      201,
    );
    const login = await fetch(`${origin}/auth/login`, { method: "POST", headers, body: body(PASSWORD) });
    expect(login.status).toBe(200);
    const cookies = login.headers.getSetCookie().map((c) => c.split(";")[0] as string);
    const cookie = cookies.join("; ");
    const { csrfToken } = (await login.json()) as { csrfToken: string };
    const me = (await (await fetch(`${origin}/auth/me`, { headers: { cookie } })).json()) as {
      user: { id: string };
      session: { id: string };
    };
    // An API client: a token pair, the access token used twice, one refresh, then the old
    // refresh token again (theft: its session ends).
    const tokenHeaders = { "content-type": "application/json" };
    const pair = (await (
      await fetch(`${origin}/auth/token`, { method: "POST", headers: tokenHeaders, body: body(PASSWORD) })
    ).json()) as { access_token: string; refresh_token: string };
    for (let i = 0; i < 2; i++) {
      const bearer = await fetch(`${origin}/auth/me`, { headers: { authorization: `Bearer ${pair.access_token}` } });
      expect(bearer.status).toBe(200);
    }
    const refresh = (token: string) =>
      fetch(`${origin}/auth/refresh`, {
        method: "POST",
        headers: tokenHeaders,
        body: JSON.stringify({ refresh_token: token }),
      });
    const refreshed = await refresh(pair.refresh_token);
    expect(refreshed.status).toBe(200);
    const { refresh_token: next } = (await refreshed.json()) as { refresh_token: string };
    expect((await refresh(pair.refresh_token)).status).toBe(401);

    // Wrong passwords until the account's sign-ins are throttled (LOGIN_MAX_FAILURES=3).
    const failures: number[] = [];
    for (let i = 0; i < 5; i++) {
      failures.push(
        (await fetch(`${origin}/auth/login`, { method: "POST", headers, body: body("wrong password!!") })).status,
      );
    }
    expect(failures).toContain(401);
    expect(failures).toContain(429);
    const logout = await fetch(`${origin}/auth/logout`, {
      method: "POST",
      headers: { origin, cookie, "x-csrf-token": csrfToken },
    });
    expect(logout.status).toBe(204);
    const scrape = await fetch(metricsUrl);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get("content-type")).toContain("text/plain");
    const text = await scrape.text();

    const requests = (labels: Record<string, string>) => sample(text, "latchkey_http_requests_total", labels);
    expect(requests({ route: "/auth/register", method: "POST", status: "201" })).toBe(1);
    expect(requests({ route: "/auth/login", method: "POST", status: "200" })).toBe(1);
    expect(requests({ route: "/auth/login", method: "POST", status: "401" })).toBeGreaterThanOrEqual(1);
    expect(requests({ route: "/auth/login", method: "POST", status: "429" })).toBeGreaterThanOrEqual(1);
    expect(requests({ route: "/auth/logout", method: "POST", status: "204" })).toBe(1);
    expect(
      sample(text, "latchkey_http_request_duration_seconds_count", { route: "/auth/login", method: "POST" }),
    ).toBeGreaterThanOrEqual(6);
    const events = (type: string) => sample(text, "latchkey_security_events_total", { type });
    expect(events("login")).toBe(2);
    expect(events("login_failed")).toBeGreaterThanOrEqual(1);
    expect(events("logout")).toBe(1);
    expect(events("refresh_reuse_detected")).toBe(1);
    // Sessions by kind and by how they ended; refreshes; the access-token memory.
    expect(sample(text, "latchkey_sessions_created_total", { kind: "session" })).toBe(1);
    expect(sample(text, "latchkey_sessions_created_total", { kind: "bearer" })).toBe(1);
    expect(sample(text, "latchkey_sessions_ended_total", { reason: "signed_out" })).toBe(1);
    expect(sample(text, "latchkey_sessions_ended_total", { reason: "refresh_reuse_detected" })).toBe(1);
    expect(sample(text, "latchkey_refresh_rotations_total")).toBe(1);
    expect(sample(text, "latchkey_access_token_checks_total", { remembered: "false" })).toBe(1);
    expect(sample(text, "latchkey_access_token_checks_total", { remembered: "true" })).toBe(1);
    expect(sample(text, "latchkey_access_tokens_remembered")).toBe(1);
    // Store calls by port and method, with their outcome; the hashing queue.
    const storeCalls = (labels: Record<string, string>) =>
      sample(text, "latchkey_store_call_duration_seconds_count", labels);
    expect(storeCalls({ port: "sessions", method: "create", outcome: "ok" })).toBe(2);
    expect(storeCalls({ port: "users", method: "findByUsername", outcome: "ok" })).toBeGreaterThanOrEqual(7);
    expect(storeCalls({ port: "refreshTokens", method: "markRotated", outcome: "ok" })).toBe(1);
    expect(text).not.toMatch(/outcome="error"/);
    expect(sample(text, "latchkey_password_hashes", { state: "running" })).toBe(0);
    expect(sample(text, "latchkey_password_hash_duration_seconds_count", { operation: "hash" })).toBeGreaterThanOrEqual(
      1,
    );
    expect(
      sample(text, "latchkey_password_hash_duration_seconds_count", { operation: "verify" }),
    ).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(/^latchkey_password_hashes\{state="waiting"\} 0$/m);
    // The process and the change feed.
    expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect(text).toContain("nodejs_eventloop_lag_p99_seconds");
    const readAge = sample(text, "latchkey_change_feed_read_age_seconds");
    expect(readAge).toBeGreaterThanOrEqual(0);
    expect(readAge).toBeLessThan(5);
    expect(text).toContain("latchkey_revocation_streams 0");

    // Who never appears: not the username, the user's or session's id, the password, a
    // cookie's value, the CSRF token or the client's address.
    for (const secret of [
      username,
      me.user.id,
      me.session.id,
      PASSWORD,
      csrfToken,
      pair.access_token,
      pair.refresh_token,
      next,
      ...cookies.map((c) => c.split("=")[1] as string),
    ]) {
      expect(text.includes(secret), `the scrape holds ${secret.slice(0, 8)}…`).toBe(false);
    }
    expect(text).not.toMatch(/127\.0\.0\.1|::1/);
  });

  it("every metric the Grafana dashboard in deploy/ queries is in the scrape", async () => {
    const dashboard = JSON.parse(readFileSync(join(ROOT, "deploy/grafana-dashboard.json"), "utf8")) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const text = await (await fetch(metricsUrl)).text();
    const names = new Set<string>();
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets) {
        for (const [name] of expr.matchAll(/\b(?:latchkey|nodejs|process)_[a-z0-9_]+/g)) names.add(name);
      }
    }
    expect(names.size).toBeGreaterThan(5);
    for (const name of names) expect(text, `${name} is not scraped`).toMatch(new RegExp(`^${name}[{ ]`, "m"));
  });

  it("is not on the public origin, and answers only GET /metrics", async () => {
    expect((await fetch(`${server.origin}/metrics`)).status).toBe(404);
    expect((await fetch(metricsUrl.replace("/metrics", "/other"))).status).toBe(404);
    expect((await fetch(metricsUrl, { method: "POST" })).status).toBe(404);
  });
});
