/**
 * The options a host sets, through the Fastify plugin and the fetch dispatcher alike:
 * route groups switched off, cookies renamed, a prefix; and options that cannot work
 * refused at start with a TypeError naming them.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { latchkey } from "../../packages/latchkey/src/adapters/fastify.js";
import { createFetchHandler, type FetchLatchkey } from "../../packages/latchkey/src/adapters/fetch.js";
import {
  type Auth,
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
  DEFAULT_TOKEN_POLICY,
} from "../../packages/latchkey/src/core/auth.js";
import type { LatchkeyOptions } from "../../packages/latchkey/src/http/guest.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";

const ORIGIN = "http://localhost:3000";
const PASSWORD = "correct horse battery staple";

async function core(): Promise<Auth> {
  const auth = await createAuth({
    stores: createMemoryStores(),
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
    hasher: { hash: async (p) => `plain:${p}`, verify: async (h, p) => h === `plain:${p}`, needsRehash: () => false },
  });
  return auth;
}

type Send = (
  method: string,
  path: string,
  body?: unknown,
  cookie?: string,
) => Promise<{ status: number; cookies: string[]; json: unknown }>;

const opened: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  while (opened.length > 0) await opened.pop()?.close();
});

async function viaFastify(options: Omit<LatchkeyOptions, "auth" | "publicOrigin">, auth?: Auth): Promise<Send> {
  const app: FastifyInstance = Fastify();
  await app.register(latchkey, { auth: auth ?? (await core()), publicOrigin: ORIGIN, maintenance: false, ...options });
  opened.push(app);
  return async (method, path, body, cookie) => {
    const response = await app.inject({
      method: method as "POST",
      url: path,
      headers: {
        origin: ORIGIN,
        ...(body !== undefined && { "content-type": "application/json" }),
        ...(cookie && { cookie }),
      },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
    const set = response.headers["set-cookie"];
    return {
      status: response.statusCode,
      cookies: set === undefined ? [] : Array.isArray(set) ? set : [set],
      json: response.body ? JSON.parse(response.body) : null,
    };
  };
}

async function viaFetch(options: Omit<LatchkeyOptions, "auth" | "publicOrigin">, auth?: Auth): Promise<Send> {
  const handler: FetchLatchkey = createFetchHandler({
    auth: auth ?? (await core()),
    publicOrigin: ORIGIN,
    maintenance: false,
    ...options,
  });
  opened.push(handler);
  return async (method, path, body, cookie) => {
    const request = new Request(`${ORIGIN}${path}`, {
      method,
      headers: {
        origin: ORIGIN,
        ...(body !== undefined && { "content-type": "application/json" }),
        ...(cookie && { cookie }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const response = await handler.handle(request, { ip: "192.0.2.1" });
    if (!response) return { status: 404, cookies: [], json: null }; // not latchkey's: the host answers
    const text = await response.text();
    return { status: response.status, cookies: response.headers.getSetCookie(), json: text ? JSON.parse(text) : null };
  };
}

describe.each([
  ["the Fastify plugin", viaFastify],
  ["the fetch dispatcher", viaFetch],
] as const)("%s", (_name, open) => {
  it("routes: { register: false, tokens: false } removes those routes and leaves login", async () => {
    const auth = await core();
    await auth.accounts.register("alice", PASSWORD, { ip: "192.0.2.1", userAgent: "" });
    const send = await open({ routes: { register: false, tokens: false } }, auth);
    expect((await send("POST", "/auth/register", { username: "bob", password: PASSWORD })).status).toBe(404);
    expect((await send("POST", "/auth/token", { username: "alice", password: PASSWORD })).status).toBe(404);
    expect((await send("POST", "/auth/revoke", { token: "x" })).status).toBe(404);
    expect((await send("POST", "/auth/login", { username: "alice", password: PASSWORD })).status).toBe(200);
    expect((await send("GET", "/.well-known/jwks.json")).status).toBe(200);
  });

  it("issue 25 item 14: the service routes have a switch of their own; `tokens: false` leaves them", async () => {
    const auth = await core();
    await auth.accounts.register("alice", PASSWORD, { ip: "192.0.2.1", userAgent: "" });
    // Without a service's credentials: 401 where the route is, 404 where it is not.
    const serviceRoutes = async (send: Send) => [
      (await send("POST", "/auth/introspect", { token: "x" })).status,
      (await send("GET", "/auth/revocations")).status,
    ];
    const withoutTokens = await open({ routes: { tokens: false } }, auth);
    expect(await serviceRoutes(withoutTokens)).toEqual([401, 401]);
    expect((await withoutTokens("POST", "/auth/token", { username: "alice", password: PASSWORD })).status).toBe(404);
    const withoutServices = await open({ routes: { services: false } }, auth);
    expect(await serviceRoutes(withoutServices)).toEqual([404, 404]);
    expect((await withoutServices("POST", "/auth/token", { username: "alice", password: PASSWORD })).status).toBe(200);
  });

  it("routes: { password: false, account: false } removes the password change and account deletion", async () => {
    const send = await open({ routes: { password: false, account: false } });
    expect((await send("POST", "/auth/register", { username: "carol", password: PASSWORD })).status).toBe(201);
    expect(
      (await send("POST", "/auth/password", { currentPassword: PASSWORD, newPassword: `${PASSWORD}!` })).status,
    ).toBe(404);
    expect((await send("DELETE", "/auth/account", { password: PASSWORD })).status).toBe(404);
  });

  it("cookieNames renames the cookies; the default names then prove nothing", async () => {
    const send = await open({ cookieNames: { session: "app_sid", csrf: "app_csrf" } });
    await send("POST", "/auth/register", { username: "dave", password: PASSWORD });
    const login = await send("POST", "/auth/login", { username: "dave", password: PASSWORD });
    const names = login.cookies.map((line) => line.split("=")[0]);
    expect(names).toEqual(expect.arrayContaining(["__Host-app_sid", "__Host-app_csrf", "__Host-device"]));
    expect(names).not.toContain("__Host-sid");
    const sid = (login.cookies.find((line) => line.startsWith("__Host-app_sid=")) as string).split(";")[0] as string;
    expect((await send("GET", "/auth/me", undefined, sid)).status).toBe(200);
    expect((await send("GET", "/auth/me", undefined, sid.replace("__Host-app_sid", "__Host-sid"))).status).toBe(401);
  });

  it("prefix moves every route, the JWKS with them", async () => {
    const send = await open({ prefix: "/api/" });
    expect((await send("POST", "/api/auth/register", { username: "erin", password: PASSWORD })).status).toBe(201);
    expect((await send("POST", "/auth/register", { username: "frank", password: PASSWORD })).status).toBe(404);
    expect((await send("GET", "/api/.well-known/jwks.json")).status).toBe(200);
  });

  it("refuses options that cannot work, naming them", async () => {
    const bad: [Omit<LatchkeyOptions, "auth" | "publicOrigin">, RegExp][] = [
      [{ routes: { regster: false } as never }, /unknown route group "regster"/],
      [{ cookieNames: { session: "a b" } }, /cookie name "a b"/],
      [{ cookieNames: { session: "__Host-x" } }, /cookie name "__Host-x"/],
      [{ cookieNames: { session: "same", csrf: "same" } }, /share a name/],
      [{ prefix: "api" }, /prefix "api"/],
      [{ prefix: "/a/../b" }, /prefix/],
      [{ strategy: "cookies" as never }, /unknown strategy "cookies"/],
      [{ corsOrigins: ["not a url"] }, /Invalid URL|origin/],
    ];
    for (const [options, message] of bad) await expect(open(options)).rejects.toThrow(message);
    await expect(open({ publicOrigin: "https://x.example/path" } as never)).rejects.toThrow(/origin/);
  });
});
