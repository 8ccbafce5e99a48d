/**
 * Security checklist lines 42-44: no-store, HTML security headers, clean logs.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, PASSWORD, startHarness, uniqueName } from "../helpers/harness.js";

describe("security checklist 42-44 (everywhere)", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it("security 42: every /auth response carries Cache-Control: no-store, errors included", async () => {
    const c = h.client();
    const name = uniqueName();
    const responses = [
      await c.register(name),
      await c.login(name, "wrong password!"),
      await c.login(name),
      await c.get("/auth/me"),
      await c.get("/auth/sessions"),
      await c.get("/auth/events"),
      await c.get("/auth/nope"),
      await h.client().get("/auth/me"),
      await c.post("/auth/logout"),
    ];
    for (const response of responses) {
      expect(response.headers["cache-control"], response.raw.req.url).toBe("no-store");
    }
  });

  it.each(["/", "/docs/"])(
    "security 43: HTML at %s carries CSP without inline script, nosniff, frame-ancestors, Referrer-Policy",
    async (url) => {
      const response = await h.app.inject({ method: "GET", url });
      expect(response.statusCode).toBe(200);
      expect(response.headers["content-type"]).toMatch(/text\/html/);
      const csp = String(response.headers["content-security-policy"]);
      const scriptSrc = /script-src ([^;]*)/.exec(csp)?.[1] ?? /default-src ([^;]*)/.exec(csp)?.[1];
      expect(scriptSrc).toBeDefined();
      expect(scriptSrc).not.toContain("unsafe-inline");
      expect(scriptSrc).not.toContain("unsafe-eval");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(response.headers["x-content-type-options"]).toBe("nosniff");
      expect(response.headers["referrer-policy"]).toBeDefined();
      const inlineScripts = [...response.body.matchAll(/<script(?![^>]*\bsrc=)[^>]*>/g)];
      expect(inlineScripts).toHaveLength(0);
    },
  );

  it("security 44: no log line holds a password, a session secret or a CSRF token", async () => {
    const c = h.client();
    const name = uniqueName();
    const newPassword = "another long secret phrase";
    await c.register(name);
    await c.login(name, "a wrong password value");
    await c.login(name);
    const firstCookie = c.cookies.get("__Host-sid") as string;
    await c.get("/auth/me");
    await c.get(`/auth/me?sid=${firstCookie}&token=${firstCookie}`);
    await c.post("/api/todos", { title: "buy milk" });
    await c.post("/auth/password", { currentPassword: PASSWORD, newPassword });
    const secondCookie = c.cookies.get("__Host-sid") as string;
    await c.post("/auth/logout");
    await h.client().post("/auth/login", `{"username":"${name}","password":"${PASSWORD}`, {});
    const log = h.logs.join("\n");
    expect(h.logs.length).toBeGreaterThan(10);
    for (const secret of [
      PASSWORD,
      newPassword,
      "a wrong password value",
      firstCookie.split(".")[1] as string,
      secondCookie.split(".")[1] as string,
      c.csrfToken as string,
    ]) {
      expect(log).not.toContain(secret);
    }
  });
});

describe("security headers on JSON responses", () => {
  it("API answers carry nosniff, DENY framing and a Referrer-Policy", async () => {
    const h = await startHarness();
    try {
      for (const url of ["/auth/me", "/api/todos", "/auth/info"]) {
        const response = await h.app.inject({ method: "GET", url });
        expect(response.headers["x-content-type-options"]).toBe("nosniff");
        expect(response.headers["x-frame-options"]).toBe("DENY");
        expect(response.headers["referrer-policy"]).toBe("no-referrer");
      }
    } finally {
      await h.close();
    }
  });
});
