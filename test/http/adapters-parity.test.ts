/**
 * One core, two doors: the same script of requests, good and hostile, sent to the
 * Fastify plugin (through `inject`) and to the framework-free dispatcher (through
 * `latchkey/fetch`'s `handle(Request)`), each with its own core on a frozen clock. Every
 * answer must agree: status, error code, the body's shape, the cookies set (names and
 * attributes) and `cache-control`. The Express and Hono adapters are thin layers over
 * the same dispatcher (test/package runs them as real apps).
 */
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFetchHandler, type FetchLatchkey } from "../../packages/latchkey/src/adapters/fetch.js";
import {
  type Auth,
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
  DEFAULT_TOKEN_POLICY,
} from "../../packages/latchkey/src/core/auth.js";
import { manualClock } from "../../packages/latchkey/src/core/clock.js";
import type { Strategy } from "../../packages/latchkey/src/http/context.js";
import { latchkey } from "../../packages/latchkey/src/http/plugin.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";

const ORIGIN = "http://localhost:3000";
const PASSWORD = "correct horse battery staple";
const START = Date.parse("2026-03-01T12:00:00.000Z");

interface Sent {
  method: string;
  path: string;
  body?: string;
  headers?: Record<string, string>;
}
interface Got {
  status: number;
  headers: Headers;
  text: string;
}
type Door = (request: Sent) => Promise<Got>;

async function core(): Promise<Auth> {
  return createAuth({
    stores: createMemoryStores(),
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
    clock: manualClock(START),
    // The parity of answers is under test, not the hash: a fast one keeps the script quick.
    hasher: { hash: async (p) => `plain:${p}`, verify: async (h, p) => h === `plain:${p}`, needsRehash: () => false },
  });
}

function fastifyDoor(app: FastifyInstance): Door {
  return async ({ method, path, body, headers }) => {
    const response = await app.inject({
      method: method as "GET",
      url: path,
      headers,
      payload: body,
      remoteAddress: "192.0.2.7",
    });
    const out = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      for (const one of Array.isArray(value) ? value : [value]) if (one !== undefined) out.append(name, String(one));
    }
    return { status: response.statusCode, headers: out, text: response.body };
  };
}

function fetchDoor(handler: FetchLatchkey): Door {
  return async ({ method, path, body, headers }) => {
    const request = new Request(`http://localhost:3000${path}`, { method, headers, body });
    const response = (await handler.handle(request, { ip: "192.0.2.7" })) ?? new Response(null, { status: 404 });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };
}

/** A browser: a cookie jar and the CSRF token, sending the same script to a door. */
class Browser {
  readonly jar = new Map<string, string>();
  csrf = "";
  constructor(readonly door: Door) {}

  async send(
    method: string,
    path: string,
    options: { json?: unknown; raw?: string; type?: string; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { origin: ORIGIN, ...options.headers };
    const body = options.raw ?? (options.json === undefined ? undefined : JSON.stringify(options.json));
    if (body !== undefined) headers["content-type"] = options.type ?? "application/json";
    if (this.jar.size > 0) headers.cookie = [...this.jar].map(([k, v]) => `${k}=${v}`).join("; ");
    if (this.csrf && method !== "GET") headers["x-csrf-token"] = this.csrf;
    for (const [name, value] of Object.entries(options.headers ?? {})) if (value === "") delete headers[name];
    const got = await this.door({ method, path, body, headers });
    for (const line of got.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [name, ...value] = (pair as string).split("=");
      if (/Max-Age=0/i.test(line)) this.jar.delete(name as string);
      else this.jar.set(name as string, value.join("="));
    }
    return got;
  }
}

/** What must agree: values that differ by nature (ids, tokens, times) are reduced to their type. */
function summary(got: Got): unknown {
  let body: unknown = got.text;
  try {
    body = got.text ? shape(JSON.parse(got.text)) : null;
  } catch {
    body = "(not JSON)";
  }
  const code = (() => {
    try {
      return (JSON.parse(got.text) as { error?: { code?: string } }).error?.code;
    } catch {
      return undefined;
    }
  })();
  const cookies = got.headers
    .getSetCookie()
    .map((line) =>
      line
        .split(";")
        .map((part, i) =>
          i === 0
            ? part.split("=")[0]
            : part
                .trim()
                .toLowerCase()
                .replace(/max-age=\d+/, "max-age=n"),
        )
        .sort()
        .join("; "),
    )
    .sort();
  return {
    status: got.status,
    code,
    body,
    cookies,
    cacheControl: got.headers.get("cache-control"),
    retryAfter: got.headers.has("retry-after"),
    wwwAuthenticate: got.headers.get("www-authenticate"),
  };
}

function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shape);
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => [k, k === "code" || k === "strategy" || k === "type" || k === "token_type" ? v : shape(v)]),
    );
  }
  return typeof value;
}

/** The script: each step sends one request from one of two browsers and returns its summary. */
async function script(door: Door): Promise<[string, unknown][]> {
  const out: [string, unknown][] = [];
  const alice = new Browser(door);
  const eve = new Browser(door);
  const step = async (name: string, got: Promise<Got>) => {
    out.push([name, summary(await got)]);
  };
  const hostile = [
    "{",
    "[]",
    "null",
    '"x"',
    "{}",
    '{"username":1,"password":"x"}',
    '{"username":"a","password":["x"]}',
    '{"__proto__":{"a":1},"username":"a","password":"b"}',
    '{"constructor":{"prototype":{}},"username":"a","password":"b"}',
    `{"username":"a","password":"${"x".repeat(2000)}"}`,
    '{"username":"a","password":"b","remember":"yes"}',
  ];
  for (const [i, raw] of hostile.entries()) {
    await step(`hostile login ${i}`, alice.send("POST", "/auth/login", { raw }));
    await step(`hostile register ${i}`, alice.send("POST", "/auth/register", { raw }));
  }
  await step(
    "register, form type",
    alice.send("POST", "/auth/register", { raw: "a=b", type: "application/x-www-form-urlencoded" }),
  );
  await step("register, text type", alice.send("POST", "/auth/register", { raw: "{}", type: "text/plain" }));
  await step(
    "register, bad UTF-8",
    alice.send("POST", "/auth/register", { raw: '{"username":"\udc00","password":"x"}' }),
  );
  await step(
    "register, 70 kB",
    alice.send("POST", "/auth/register", { json: { username: "a", password: "x".repeat(70_000) } }),
  );
  await step(
    "register, weak password",
    alice.send("POST", "/auth/register", { json: { username: "alice", password: "password" } }),
  );
  await step("register", alice.send("POST", "/auth/register", { json: { username: "alice", password: PASSWORD } }));
  await step(
    "register again",
    alice.send("POST", "/auth/register", { json: { username: "alice", password: PASSWORD } }),
  );
  await step(
    "register, extra field dropped",
    alice.send("POST", "/auth/register", { json: { username: "bob", password: PASSWORD, admin: true } }),
  );
  await step(
    "login, wrong password",
    alice.send("POST", "/auth/login", { json: { username: "alice", password: "nope nope nope" } }),
  );
  await step(
    "login, cross-site",
    alice.send("POST", "/auth/login", {
      json: { username: "alice", password: PASSWORD },
      headers: { origin: "https://evil.example" },
    }),
  );
  await step(
    "login, sec-fetch-site cross-site",
    alice.send("POST", "/auth/login", {
      json: { username: "alice", password: PASSWORD },
      headers: { origin: "", "sec-fetch-site": "cross-site" },
    }),
  );
  const login = await alice.send("POST", "/auth/login", {
    json: { username: "alice", password: PASSWORD, remember: true },
  });
  out.push(["login", summary(login)]);
  alice.csrf = (JSON.parse(login.text) as { csrfToken: string }).csrfToken;
  await step("me", alice.send("GET", "/auth/me"));
  await step("me, HEAD", alice.send("HEAD", "/auth/me"));
  await step("sessions", alice.send("GET", "/auth/sessions"));
  await step("sessions, bad limit", alice.send("GET", "/auth/sessions?limit=0"));
  await step("sessions, bad cursor", alice.send("GET", "/auth/sessions?cursor=%%%"));
  await step("sessions, limit 1", alice.send("GET", "/auth/sessions?limit=1"));
  await step("events", alice.send("GET", "/auth/events"));
  await step("delete unknown session", alice.send("DELETE", "/auth/sessions/nope"));
  await step("delete session, long id", alice.send("DELETE", `/auth/sessions/${"x".repeat(100)}`));
  const csrf = alice.csrf;
  alice.csrf = "";
  await step("logout-others without CSRF", alice.send("POST", "/auth/logout-others"));
  alice.csrf = csrf;
  await step("logout-others", alice.send("POST", "/auth/logout-others"));
  await step(
    "password, wrong current",
    alice.send("POST", "/auth/password", {
      json: { currentPassword: "nope nope", newPassword: "another fine password 42" },
    }),
  );
  await step("password, bad body", alice.send("POST", "/auth/password", { json: { currentPassword: PASSWORD } }));
  await step(
    "password",
    alice.send("POST", "/auth/password", {
      json: { currentPassword: PASSWORD, newPassword: "another fine password 42" },
    }),
  );
  await step("me after password", alice.send("GET", "/auth/me"));
  await step("token, bad", eve.send("POST", "/auth/token", { json: { username: "alice", password: PASSWORD } }));
  const token = await eve.send("POST", "/auth/token", {
    json: { username: "alice", password: "another fine password 42" },
  });
  out.push(["token", summary(token)]);
  const { access_token, refresh_token } = JSON.parse(token.text) as { access_token: string; refresh_token: string };
  await step("bearer me", eve.send("GET", "/auth/me", { headers: { authorization: `Bearer ${access_token}` } }));
  await step("bearer, broken", eve.send("GET", "/auth/me", { headers: { authorization: "Bearer x.y.z" } }));
  await step("bearer, basic", eve.send("GET", "/auth/me", { headers: { authorization: "Basic abc" } }));
  await step("refresh, bad body", eve.send("POST", "/auth/refresh", { json: { refresh_token: 5 } }));
  await step("refresh, no credential", eve.send("POST", "/auth/refresh"));
  await step("refresh, unknown", eve.send("POST", "/auth/refresh", { json: { refresh_token: "nope" } }));
  const refreshed = await eve.send("POST", "/auth/refresh", { json: { refresh_token } });
  out.push(["refresh", summary(refreshed)]);
  await step("refresh, reused", eve.send("POST", "/auth/refresh", { json: { refresh_token } }));
  await step("revoke, unknown", eve.send("POST", "/auth/revoke", { json: { token: "nope" } }));
  await step("revoke, bad body", eve.send("POST", "/auth/revoke", { json: {} }));
  await step("jwks", eve.send("GET", "/.well-known/jwks.json"));
  await step("account delete, wrong password", alice.send("DELETE", "/auth/account", { json: { password: "nope" } }));
  await step("logout", alice.send("POST", "/auth/logout"));
  await step("me after logout", alice.send("GET", "/auth/me"));
  await step("logout again", alice.send("POST", "/auth/logout"));
  return out;
}

describe.each(["session", "jwt", "hybrid"] as Strategy[])("AUTH_STRATEGY=%s", (strategy) => {
  let app: FastifyInstance;
  let handler: FetchLatchkey;
  beforeAll(async () => {
    app = Fastify();
    await app.register(latchkey, { auth: await core(), publicOrigin: ORIGIN, strategy, maintenance: false });
    handler = createFetchHandler({ auth: await core(), publicOrigin: ORIGIN, strategy, maintenance: false });
  });
  afterAll(async () => {
    await app.close();
    handler.close();
  });

  it("the Fastify plugin and the fetch dispatcher give the same answer to every request of the script", async () => {
    const viaFastify = await script(fastifyDoor(app));
    const viaFetch = await script(fetchDoor(handler));
    // Step by step, so a difference names its step.
    for (const [i, [name, fastifyAnswer]] of viaFastify.entries()) {
      expect({ step: name, ...(viaFetch[i]?.[1] as object) }).toEqual({ step: name, ...(fastifyAnswer as object) });
    }
    expect(viaFetch.length).toBe(viaFastify.length);
  });
});
