/**
 * Claims of the README and docs/ that issue 19 found untrue or unstated, each now held by
 * a test named after it.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { STATUS_BY_CODE } from "../../packages/latchkey/src/core/errors.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import { type Harness, ORIGIN, startHarness, uniqueName } from "../helpers/harness.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("docs claims", () => {
  it("claim (README): an unsafe cookie request with no Origin passes with the CSRF token; a foreign Origin is refused with it", async () => {
    h = await startHarness();
    const c = h.client();
    await c.signUpAndLogIn(uniqueName());
    const noOrigin = await h.app.inject({
      method: "POST",
      url: "/api/todos",
      payload: { title: "from curl" },
      headers: { cookie: [...c.cookies].map(([k, v]) => `${k}=${v}`).join("; "), "x-csrf-token": c.csrfToken ?? "" },
    });
    expect(noOrigin.statusCode).toBe(201);
    const foreign = await c.post("/api/todos", { title: "x" }, { origin: "https://evil.example" });
    expect(foreign.statusCode).toBe(403);
    expect(foreign.json().error.code).toBe("forbidden_origin");
  });

  it("claim (README): bearer headers win over cookies, but the Origin check still applies to bearer requests from browsers", async () => {
    h = await startHarness();
    const c = h.client();
    const name = uniqueName();
    await c.register(name);
    const { access_token } = (await c.token(name)).json();
    const foreign = await c.request({
      method: "POST",
      url: "/api/todos",
      body: { title: "x" },
      cookies: false,
      csrf: false,
      headers: { authorization: `Bearer ${access_token}`, origin: "https://evil.example" },
    });
    expect(foreign.statusCode).toBe(403);
    expect((await c.bearer("POST", "/api/todos", access_token, { title: "same origin" })).statusCode).toBe(201);
  });

  it("claim (tokens.md): under REVOCATION=expiry, routes that load the session refuse an ended session's token at once; others accept it until exp", async () => {
    h = await startHarness({ REVOCATION: "expiry" });
    const c = h.client();
    const name = uniqueName();
    await c.register(name);
    const { access_token } = (await c.token(name)).json();
    expect(
      (await c.request({ method: "POST", url: "/auth/revoke", body: { token: access_token }, cookies: false }))
        .statusCode,
    ).toBe(200);
    expect((await c.bearer("GET", "/auth/me", access_token)).statusCode).toBe(401);
    expect((await c.bearer("GET", "/api/todos", access_token)).statusCode).toBe(200);
    h.clock.advance(606_000);
    expect((await c.bearer("GET", "/api/todos", access_token)).statusCode).toBe(401);
  });

  it("claim (README): /healthz's failure body is {status, reason}, not the error format", async () => {
    h = await startHarness();
    await h.stores.close();
    const health = await h.app.inject({ method: "GET", url: "/healthz" });
    expect(health.statusCode).toBe(503);
    expect(health.json()).toEqual({ status: "unavailable", reason: "store unreachable" });
  });

  it("claim (deployment.md): the SQLite file is 0600, its directory 0700 only when latchkey creates it", async () => {
    const root = mkdtempSync(join(tmpdir(), "latchkey-modes-"));
    try {
      const created = join(root, "new-dir", "latchkey.db");
      const stores = await openSqliteStores({ path: created });
      await stores.close();
      expect(statSync(created).mode & 0o777).toBe(0o600);
      expect(statSync(join(root, "new-dir")).mode & 0o777).toBe(0o700);
      mkdirSync(join(root, "existing"), { mode: 0o755 });
      const inExisting = join(root, "existing", "latchkey.db");
      await (await openSqliteStores({ path: inExisting })).close();
      expect(statSync(inExisting).mode & 0o777).toBe(0o600);
      expect(statSync(join(root, "existing")).mode & 0o777).toBe(0o755 & ~process.umask());
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("claim (README): an Origin header equal to PUBLIC_ORIGIN passes", async () => {
    h = await startHarness();
    const c = h.client();
    await c.signUpAndLogIn(uniqueName());
    expect((await c.post("/api/todos", { title: "ok" }, { origin: ORIGIN })).statusCode).toBe(201);
  });

  it("claim (README): the API table lists every route of the OpenAPI document, in its order, and every stable error code", async () => {
    h = await startHarness();
    const document = (await h.app.inject({ method: "GET", url: "/openapi.json" })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`),
    );
    const readme = readFileSync(join(process.cwd(), "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## The API at a glance"), readme.indexOf("Rules worth knowing"));
    const rows = [...section.matchAll(/^\| `(GET|POST|PUT|PATCH|DELETE) ([^`?]+)[^`]*`/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    // A route listed twice (the two logins of POST /auth/token) keeps its place.
    expect(rows.filter((row, i) => rows[i - 1] !== row)).toEqual(operations);
    for (const code of Object.keys(STATUS_BY_CODE)) expect(section).toContain(`\`${code}\``);
  });
});
