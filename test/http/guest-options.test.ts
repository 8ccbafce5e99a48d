/**
 * The options a host sets, through the Fastify plugin and the fetch dispatcher alike:
 * route groups switched off, cookies renamed, a prefix; and options that cannot work
 * refused at start with a TypeError naming them.
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { latchkeyExpress } from "../../packages/latchkey/src/adapters/express.js";
import { latchkey } from "../../packages/latchkey/src/adapters/fastify.js";
import { createFetchHandler, type FetchLatchkey } from "../../packages/latchkey/src/adapters/fetch.js";
import { latchkeyHono } from "../../packages/latchkey/src/adapters/hono.js";
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

const POLICY = {
  revocation: "immediate",
  accessTokenTtl: 600,
  sessionIdleTimeout: 1800,
  sessionAbsoluteTimeout: 86_400,
  rememberIdleTimeout: 1_209_600,
  rememberAbsoluteTimeout: 2_592_000,
  refreshReuseLeeway: 10,
};

/** Bad values of each option of `LatchkeyOptions`, with the name its TypeError must give. */
const BAD_OPTIONS: [name: string, options: Record<string, unknown>][] = [
  ["auth", { auth: {} }],
  ["publicOrigin", { publicOrigin: "foo" }],
  ["publicOrigin", { publicOrigin: "ftp://app.example" }],
  ["publicOrigin", { publicOrigin: "https://x.example/path" }],
  ["publicOrigin", { publicOrigin: 42 }],
  ["strategy", { strategy: "cookies" }],
  ["strategy", { strategy: 1 }],
  ["cookieSecure", { cookieSecure: "no" }],
  ["cookieSecure", { cookieSecure: 0 }],
  ["cookieNames", { cookieNames: "app_sid" }],
  ["cookieNames", { cookieNames: { sesion: "app_sid" } }],
  ["cookieNames.session", { cookieNames: { session: "a b" } }],
  ["cookieNames.session", { cookieNames: { session: "__Host-x" } }],
  ["cookieNames.csrf", { cookieNames: { csrf: 7 } }],
  ["cookieNames", { cookieNames: { session: "same", csrf: "same" } }],
  ["prefix", { prefix: "api" }],
  ["prefix", { prefix: "/a/../b" }],
  ["prefix", { prefix: 5 }],
  ["routes", { routes: ["register"] }],
  ["routes", { routes: { regster: false } }],
  ["routes.register", { routes: { register: "no" } }],
  ["policy", { policy: "yes" }],
  ["policy.revocation", { policy: { ...POLICY, revocation: "never" } }],
  ["policy.accessTokenTtl", { policy: { ...POLICY, accessTokenTtl: "600" } }],
  ["policy.refreshReuseLeeway", { policy: { ...POLICY, refreshReuseLeeway: -1 } }],
  ["corsOrigins", { corsOrigins: "https://a.example" }],
  ["corsOrigins[0]", { corsOrigins: ["not a url"] }],
  ["corsOrigins[1]", { corsOrigins: ["https://a.example", "https://b.example/path"] }],
  ["corsOrigins[0]", { corsOrigins: [null] }],
  ["maintenance", { maintenance: "yes" }],
  ["maintenance.intervalMs", { maintenance: { intervalMs: 0 } }],
  ["maintenance.intervalMs", { maintenance: { intervalMs: 2 ** 31 } }],
  ["maintenance.intervalMs", { maintenance: { intervalMs: "60000" } }],
];

/** "latchkey: option NAME must ...": the message names the option first. */
function namesOption(name: string): RegExp {
  return new RegExp(`^latchkey: option ${name.replace(/[.[\]]/g, "\\$&")} must `);
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

  it("issue 26 bug 2: every bad option is a TypeError that names it, never echoing a secret", async () => {
    for (const [name, options] of BAD_OPTIONS) {
      const error = await open(options as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, name).toBeInstanceOf(TypeError);
      expect((error as TypeError).message, name).toMatch(namesOption(name));
    }
    const leaky = await open({ publicOrigin: "https://admin:hunter2@app.example" } as never).catch((e: Error) => e);
    expect((leaky as Error).message).toMatch(namesOption("publicOrigin"));
    expect((leaky as Error).message).not.toContain("hunter2");
  });

  it('issue 26 bug 2: cookieSecure "no" is refused, not taken as true', async () => {
    await expect(open({ cookieSecure: "no" as never })).rejects.toThrow(
      'latchkey: option cookieSecure must be a boolean, got "no"',
    );
  });
});

describe("issue 26 bug 2: the adapters' own options", () => {
  const bad: [name: string, options: Record<string, unknown>][] = [
    ["clientAddress", { clientAddress: "x-real-ip" }],
    ["log", { log: "console" }],
    ["log", { log: { warn: () => {} } }],
  ];
  it.each(bad)("%s: a TypeError naming it, from fetch, Express and Hono", async (name, extra) => {
    const options = { auth: await core(), publicOrigin: ORIGIN, maintenance: false, ...extra } as never;
    expect(() => createFetchHandler(options)).toThrow(namesOption(name));
    expect(() => latchkeyHono(options)).toThrow(namesOption(name));
    if (name !== "clientAddress") expect(() => latchkeyExpress(options)).toThrow(namesOption(name));
  });
});
