/**
 * Issue 30, defect 3: an unknown path asked for by a browser is the web app's own page
 * with status 404 (the app then shows its not-found page); API clients, every non-GET and
 * every path of the API keep the contract's JSON 404 and 405.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, ORIGIN, startHarness } from "../helpers/harness.js";

/** What Chromium sends when a person opens an address. */
const BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";
const EXAMPLES = ["/settings", "/todos/123", "/signin/", "/TODOS"];

describe("an unknown path: the app's page for a browser, JSON for everyone else", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => h.close());

  const get = (url: string, accept?: string, method: "GET" | "HEAD" = "GET") =>
    h.app.inject({ method, url, headers: accept === undefined ? {} : { accept } });
  const expectJson404 = (response: Awaited<ReturnType<typeof get>>, label: string) => {
    expect([label, response.statusCode, response.headers["content-type"]]).toEqual([
      label,
      404,
      "application/json; charset=utf-8",
    ]);
    expect(response.json()).toEqual({ error: { code: "not_found", message: "Not found." } });
  };

  it.each(EXAMPLES)("GET %s from a browser: the app's index.html, status 404, never cached", async (url) => {
    const response = await get(url, BROWSER);
    expect(response.statusCode).toBe(404);
    expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(response.headers["cache-control"]).toBe("no-cache");
    expect(response.headers.vary).toMatch(/\baccept\b/i);
    // The built app itself, with the page's security headers.
    expect(response.body).toMatch(/<div id="app"><\/div>/);
    expect(response.body).toMatch(/<script type="module"[^>]* src="\/assets\/index-[^"]+\.js"><\/script>/);
    expect(String(response.headers["content-security-policy"])).toContain("script-src 'self'");
    expect(response.headers["x-frame-options"]).toBe("DENY");
  });

  it.each(EXAMPLES)("GET %s from an API client: the contract's JSON 404, as before", async (url) => {
    expectJson404(await get(url), `${url} without Accept`);
    expectJson404(await get(url, "*/*"), `${url} */*`);
    expectJson404(await get(url, "application/json"), `${url} application/json`);
    // A client that names HTML but ranks JSON above it wants JSON.
    expectJson404(await get(url, "application/json, text/html;q=0.5"), `${url} json over html`);
    expectJson404(await get(url, "text/html;q=0"), `${url} html refused`);
  });

  it("HEAD from a browser: the page's headers, no body", async () => {
    const response = await get("/settings", BROWSER, "HEAD");
    expect(response.statusCode).toBe(404);
    expect(response.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(response.body).toBe("");
  });

  it("any other method keeps the JSON, Accept or not", async () => {
    for (const method of ["POST", "PUT", "PATCH", "DELETE"] as const) {
      const response = await h.app.inject({
        method,
        url: "/settings",
        headers: { accept: BROWSER, origin: ORIGIN, "content-type": "application/json" },
        payload: "{}",
      });
      expectJson404(response, `${method} /settings`);
    }
    // A page's address with another method: the contract's 405, not a page.
    const post = await h.app.inject({ method: "POST", url: "/todos", headers: { accept: BROWSER, origin: ORIGIN } });
    expect([post.statusCode, post.json().error.code, post.headers.allow]).toEqual([405, "method_not_allowed", "GET"]);
  });

  it("the API's own paths answer JSON to a browser too", async () => {
    for (const url of [
      "/auth/nope",
      "/auth",
      "/api/nope",
      "/api/todos/a/b",
      "/admin/nope",
      "/admin/users/a/b/c",
      "/.well-known/nope",
      "/docs/nope/nope",
      "/openapi.json/x",
      "/healthz/x",
    ]) {
      const response = await get(url, BROWSER);
      expectJson404(response, url);
    }
    // A mistyped API call answered as before, cache headers included.
    expect((await get("/auth/nope", BROWSER)).headers["cache-control"]).toBe("no-store");
  });

  it("the app's pages and the admin API are untouched", async () => {
    for (const url of ["/signin", "/todos", "/admin"]) {
      const response = await get(url, BROWSER);
      expect([url, response.statusCode, response.headers["content-type"]]).toEqual([
        url,
        200,
        "text/html; charset=utf-8",
      ]);
    }
    const adminApi = await get("/admin/users", BROWSER);
    expect([adminApi.statusCode, adminApi.json().error.code]).toEqual([401, "unauthenticated"]);
    expect((await get("/healthz", BROWSER)).json()).toEqual({ status: "ok" });
  });
});
