/**
 * One core, two doors: the same script of requests, good and hostile, sent to the
 * Fastify plugin (through `inject`) and to the framework-free dispatcher (through
 * `latchkey/fetch`'s `handle(Request)`), each with its own core on a frozen clock. Every
 * answer must agree: status, error code, the body's shape, the cookies set (names and
 * attributes) and `cache-control`. Then every adapter (Fastify, Express, Hono, fetch) as a
 * real app beside a host's own routes.
 */
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { createServer, type Server } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { createAdaptorServer } from "@hono/node-server";
import express from "express";
import Fastify, { type FastifyInstance } from "fastify";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { latchkeyExpress } from "../../packages/latchkey/src/adapters/express.js";
import { latchkey } from "../../packages/latchkey/src/adapters/fastify.js";
import { createFetchHandler, type FetchLatchkey } from "../../packages/latchkey/src/adapters/fetch.js";
import { latchkeyHono, type OptionalAuthEnv } from "../../packages/latchkey/src/adapters/hono.js";
import { toNodeHandler } from "../../packages/latchkey/src/adapters/node.js";
import {
  type Auth,
  createAuth,
  DEFAULT_SESSION_POLICY,
  DEFAULT_THROTTLE_POLICY,
  DEFAULT_TOKEN_POLICY,
} from "../../packages/latchkey/src/core/auth.js";
import { manualClock } from "../../packages/latchkey/src/core/clock.js";
import type { MailMessage } from "../../packages/latchkey/src/core/mail.js";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { REVOCATIONS_PAGE_MAX } from "../../packages/latchkey/src/core/revocations.js";
import { totpCode, totpKey, totpStep } from "../../packages/latchkey/src/core/totp.js";
import type { Strategy } from "../../packages/latchkey/src/http/context.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { SoftAuthenticator } from "../helpers/soft-authenticator.js";
import { basic, subscribe } from "../helpers/sse.js";

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

/**
 * The messages a core mailed: its transport is the host's own function (the public port a
 * library user plugs SMTP or an email API into), here keeping them in an array.
 */
type Outbox = MailMessage[];

async function core(outbox: Outbox = []): Promise<Auth> {
  return createAuth({
    stores: createMemoryStores(),
    mail: {
      transport: async (message) => {
        outbox.push(message);
      },
      from: "Latchkey tests <no-reply@example.com>",
    },
    sessions: DEFAULT_SESSION_POLICY,
    throttle: DEFAULT_THROTTLE_POLICY,
    tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
    clock: manualClock(START),
    factors: { keys: [randomBytes(32)] },
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

/** The token of the newest message of `kind` to `to` (what follows `#token=` in its link). */
function mailedToken(outbox: Outbox, kind: MailMessage["kind"], to: string): string {
  const message = outbox.filter((m) => m.kind === kind && m.to === to).at(-1);
  const token = message && /#token=([A-Za-z0-9_.-]+)/.exec(message.text)?.[1];
  if (!token) throw new Error(`no ${kind} mail to ${to} (${outbox.length} sent)`);
  return token;
}

/** The script: each step sends one request from one of two browsers and returns its summary. */
async function script(door: Door, auth: Auth, outbox: Outbox): Promise<[string, unknown][]> {
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
    "reauthenticate, wrong password",
    alice.send("POST", "/auth/reauthenticate", { json: { password: "nope nope" } }),
  );
  await step("reauthenticate, bad body", alice.send("POST", "/auth/reauthenticate", { json: { password: 1 } }));
  alice.csrf = "";
  await step(
    "reauthenticate without CSRF",
    alice.send("POST", "/auth/reauthenticate", { json: { password: PASSWORD } }),
  );
  alice.csrf = csrf;
  await step("reauthenticate", alice.send("POST", "/auth/reauthenticate", { json: { password: PASSWORD } }));
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
  await step(
    "bearer reauthenticate",
    eve.send("POST", "/auth/reauthenticate", {
      json: { password: "another fine password 42" },
      headers: { authorization: `Bearer ${access_token}` },
    }),
  );
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
  await emailScript(new Browser(alice.door), step, auth, outbox);
  await secondFactorScript(door, step);
  await passkeyScript(door, step);
  return out;
}

/** Issue 32: an authenticator app added, then both second steps, good and hostile. */
async function secondFactorScript(door: Door, step: (name: string, got: Promise<Got>) => Promise<void>) {
  // bob, registered early in the script (this address's registrations are spent by now).
  const bob = new Browser(door);
  const other = new Browser(door);
  const login = await bob.send("POST", "/auth/login", { json: { username: "bob", password: PASSWORD } });
  bob.csrf = (JSON.parse(login.text) as { csrfToken: string }).csrfToken;
  await step("factors, none", bob.send("GET", "/auth/factors"));
  await step("factors, anonymous", other.send("GET", "/auth/factors"));
  const begun = await bob.send("POST", "/auth/factors/totp");
  await step("totp begin", Promise.resolve(begun));
  const { factorId, secret } = JSON.parse(begun.text) as { factorId: string; secret: string };
  if (!secret) throw new Error(`totp begin: ${begun.status} ${begun.text}`);
  const code = (ahead = 0) => totpCode(totpKey(secret), totpStep(START) + ahead);
  const confirm = (json: object) => bob.send("POST", "/auth/factors/totp/confirm", { json });
  await step("totp confirm, bad body", confirm({ factorId }));
  await step("totp confirm, wrong", confirm({ factorId, code: "000000" }));
  await step("totp confirm, unknown", confirm({ factorId: "x", code: code() }));
  await step("totp confirm", confirm({ factorId, code: code() }));
  await step("totp begin again", bob.send("POST", "/auth/factors/totp"));
  const credentials = { json: { username: "bob", password: PASSWORD } };
  await step("login, second factor", other.send("POST", "/auth/login", credentials));
  const second = (json: object) => other.send("POST", "/auth/login/second-factor", { json });
  for (const [i, raw] of [
    '{"code":1}',
    '{"code":"1","recoveryCode":"2"}',
    "{}",
    '{"recoveryCode":""}',
    "[",
  ].entries()) {
    await step(`second factor, hostile ${i}`, other.send("POST", "/auth/login/second-factor", { raw }));
  }
  await step("second factor, wrong", second({ code: "999999" }));
  await step("second factor, replayed", second({ code: code() }));
  await step("second factor", second({ code: code(1) }));
  await step("second factor, used", second({ code: code(1) }));
  const pending = await other.send("POST", "/auth/token", credentials);
  await step("token, second factor", Promise.resolve(pending));
  const { pending_token } = JSON.parse(pending.text) as { pending_token: string };
  const tokenStep = (json: object) => other.send("POST", "/auth/token/second-factor", { json });
  await step("token second factor, hostile", tokenStep({ pending_token: 5 }));
  await step("token second factor, unknown", tokenStep({ pending_token: "a.b", code: code() }));
  await step("token second factor, wrong", tokenStep({ pending_token, recovery_code: "nope" }));
  await step("recovery codes, again", bob.send("POST", "/auth/factors/recovery-codes"));
  await step("totp remove", bob.send("DELETE", "/auth/factors/totp"));
  await step("totp remove, none", bob.send("DELETE", "/auth/factors/totp"));
}

/** The JSON body of an answer that must have succeeded (the script needs what is in it). */
function bodyOf(got: Got, what: string) {
  if (got.status >= 300) throw new Error(`${what}: ${got.status} ${got.text}`);
  return JSON.parse(got.text);
}

/**
 * Issue 32's passkeys: registered (and refused again), named, signing in alone (a browser,
 * an API client), as the second step and to re-authenticate, each refused when replayed,
 * unbound, hostile or counting backwards; then removed. Each door has its own authenticator.
 */
async function passkeyScript(door: Door, step: (name: string, got: Promise<Got>) => Promise<void>) {
  // bob again: his authenticator app removed, his session a recent full sign-in.
  const bob = new Browser(door);
  const login = await bob.send("POST", "/auth/login", { json: { username: "bob", password: PASSWORD } });
  bob.csrf = bodyOf(login, "bob's login").csrfToken;
  const authenticator = new SoftAuthenticator(ORIGIN);
  const registerOptions = await bob.send("POST", "/auth/factors/passkeys/options");
  await step("passkey registration options", Promise.resolve(registerOptions));
  const { options } = bodyOf(registerOptions, "passkey registration options");
  const response = authenticator.register(options);
  const register = (json: object) => bob.send("POST", "/auth/factors/passkeys", { json });
  await step("passkey register, hostile", register({ response: { ...response, type: "other" } }));
  await step(
    "passkey register, no session",
    new Browser(door).send("POST", "/auth/factors/passkeys", { json: { response } }),
  );
  await step("passkey register", register({ response, name: "Phone" }));
  await step("passkey register, replayed", register({ response }));
  const again = bodyOf(await bob.send("POST", "/auth/factors/passkeys/options"), "options again");
  const reuse = authenticator.credentials[0];
  await step("passkey register, taken", register({ response: authenticator.register(again.options, { reuse }) }));
  const factors = await bob.send("GET", "/auth/factors");
  await step("factors, a passkey", Promise.resolve(factors));
  const id = bodyOf(factors, "factors").passkeys[0].id as string;
  const rename = (path: string, json: object) => bob.send("PATCH", path, { json });
  await step("passkey rename", rename(`/auth/factors/passkeys/${id}`, { name: " Work key " }));
  await step("passkey rename, blank", rename(`/auth/factors/passkeys/${id}`, { name: "  " }));
  await step("passkey rename, unknown", rename("/auth/factors/passkeys/nope", { name: "x" }));

  // Alone, in a new browser: its challenge in its cookie, good once.
  const alone = new Browser(door);
  const signInOptions = await alone.send("POST", "/auth/passkey/options");
  await step("passkey sign-in options", Promise.resolve(signInOptions));
  const assertion = authenticator.assert(bodyOf(signInOptions, "sign-in options").options);
  const loginPasskey = (browser: Browser, json: object) => browser.send("POST", "/auth/login/passkey", { json });
  await step("passkey login, hostile", loginPasskey(alone, { response: { ...assertion, response: {} } }));
  await step("passkey login, unbound", loginPasskey(new Browser(door), { response: assertion }));
  await step("passkey login", loginPasskey(alone, { response: assertion }));
  await step("passkey login, replayed", loginPasskey(alone, { response: assertion }));
  const fresh = bodyOf(await alone.send("POST", "/auth/passkey/options"), "options").options;
  const backwards = authenticator.assert(fresh, reuse, { counter: 1 });
  await step("passkey login, counter backwards", loginPasskey(alone, { response: backwards }));

  // An API client: the challenge travels as challenge_token.
  const client = new Browser(door);
  const tokenOptions = await client.send("POST", "/auth/token/passkey/options");
  await step("passkey token options", Promise.resolve(tokenOptions));
  const { challenge_token, options: forToken } = bodyOf(tokenOptions, "token options");
  const token = (json: object) => client.send("POST", "/auth/token/passkey", { json });
  const signed = authenticator.assert(forToken);
  await step("passkey token, hostile", token({ challenge_token: 5, response: signed }));
  await step("passkey token, unknown challenge", token({ challenge_token: "a.b", response: signed }));
  await step("passkey token", token({ challenge_token, response: signed }));
  await step("passkey token, replayed", token({ challenge_token, response: signed }));

  // The second step after the password, and a re-authentication.
  const stepped = new Browser(door);
  await step(
    "login, passkey second factor",
    stepped.send("POST", "/auth/login", { json: { username: "bob", password: PASSWORD } }),
  );
  const secondOptions = bodyOf(await stepped.send("POST", "/auth/passkey/options"), "second options").options;
  const second = (json: object) => stepped.send("POST", "/auth/login/second-factor", { json });
  await step("second factor, passkey", second({ passkey: authenticator.assert(secondOptions) }));
  const reauthOptions = bodyOf(await bob.send("POST", "/auth/passkey/options"), "reauth options").options;
  const reauth = (json: object) => bob.send("POST", "/auth/reauthenticate", { json });
  await step(
    "reauthenticate, passkey and password",
    reauth({ passkey: authenticator.assert(reauthOptions), password: "x" }),
  );
  await step("reauthenticate, passkey", reauth({ passkey: authenticator.assert(reauthOptions) }));
  await step("passkey remove", bob.send("DELETE", `/auth/factors/passkeys/${id}`));
  await step("passkey remove, again", bob.send("DELETE", `/auth/factors/passkeys/${id}`));
  const gone = bodyOf(await alone.send("POST", "/auth/passkey/options"), "options after removal").options;
  await step("passkey login, removed", loginPasskey(alone, { response: authenticator.assert(gone) }));
}

/** Issue 31's routes: registration with an address, its link, the forgotten password, the change. */
async function emailScript(
  carol: Browser,
  step: (name: string, got: Promise<Got>) => Promise<void>,
  auth: Auth,
  outbox: Outbox,
) {
  const email = "carol@example.com";
  const register = (username: string, address: unknown) =>
    carol.send("POST", "/auth/register", { json: { username, password: PASSWORD, email: address } });
  await step("register, bad email", register("carol", "carol@localhost"));
  await step("register, email of wrong type", register("carol", 42));
  await step("register with email", register("carol", "  Carol@Example.COM "));
  await step("register, email taken", register("dave", "CAROL@example.com"));
  await step("verify, garbage", carol.send("POST", "/auth/email/verify", { json: { token: "garbage" } }));
  await step("verify, no token", carol.send("POST", "/auth/email/verify", { json: {} }));
  await auth.email.idle();
  const verifyToken = mailedToken(outbox, "verify_email", email);
  await step("verify", carol.send("POST", "/auth/email/verify", { json: { token: verifyToken } }));
  await step("verify again", carol.send("POST", "/auth/email/verify", { json: { token: verifyToken } }));
  await step("forgot, unknown", carol.send("POST", "/auth/password/forgot", { json: { email: "nobody@example.com" } }));
  await step("forgot, bad address", carol.send("POST", "/auth/password/forgot", { json: { email: "nobody" } }));
  await step("forgot", carol.send("POST", "/auth/password/forgot", { json: { email: "Carol@example.com" } }));
  await auth.email.idle();
  const resetToken = mailedToken(outbox, "reset_password", email);
  const reset = (token: string, newPassword: string) =>
    carol.send("POST", "/auth/password/reset", { json: { token, newPassword } });
  await step("reset, weak", reset(resetToken, "password"));
  await step("reset, forged", reset(`${resetToken.slice(0, -1)}${resetToken.endsWith("A") ? "B" : "A"}`, PASSWORD));
  await step("reset", reset(resetToken, "a fresh passphrase for her 9"));
  await step("reset again", reset(resetToken, "another fresh passphrase 9"));
  await step(
    "login, old password",
    carol.send("POST", "/auth/login", { json: { username: "carol", password: PASSWORD } }),
  );
  const login = await carol.send("POST", "/auth/login", {
    json: { username: "carol", password: "a fresh passphrase for her 9" },
  });
  await step("login, new password", Promise.resolve(login));
  carol.csrf = (JSON.parse(login.text) as { csrfToken?: string }).csrfToken ?? "";
  await step("email", carol.send("GET", "/auth/email"));
  await step(
    "email change, wrong password",
    carol.send("PUT", "/auth/email", { json: { email: "carol@new.example", password: "not it at all" } }),
  );
  await step(
    "email change",
    carol.send("PUT", "/auth/email", {
      json: { email: "carol@new.example", password: "a fresh passphrase for her 9" },
    }),
  );
  await auth.email.idle();
  await step(
    "revert",
    carol.send("POST", "/auth/email/revert", { json: { token: mailedToken(outbox, "email_change_notice", email) } }),
  );
  await step("email after revert", carol.send("GET", "/auth/email"));
  await step("resend verification", carol.send("POST", "/auth/email/verification", { json: { email } }));
  await auth.email.idle();
}

describe.each(["session", "jwt", "hybrid"] as Strategy[])("AUTH_STRATEGY=%s", (strategy) => {
  let app: FastifyInstance;
  let handler: FetchLatchkey;
  const fastifyMail: Outbox = [];
  const fetchMail: Outbox = [];
  let fastifyAuth: Auth;
  let fetchAuth: Auth;
  beforeAll(async () => {
    app = Fastify();
    fastifyAuth = await core(fastifyMail);
    fetchAuth = await core(fetchMail);
    await app.register(latchkey, { auth: fastifyAuth, publicOrigin: ORIGIN, strategy, maintenance: false });
    handler = createFetchHandler({ auth: fetchAuth, publicOrigin: ORIGIN, strategy, maintenance: false });
  });
  afterAll(async () => {
    await app.close();
    handler.close();
  });

  it("the Fastify plugin and the fetch dispatcher give the same answer to every request of the script", async () => {
    const viaFastify = await script(fastifyDoor(app), fastifyAuth, fastifyMail);
    const viaFetch = await script(fetchDoor(handler), fetchAuth, fetchMail);
    // Step by step, so a difference names its step.
    for (const [i, [name, fastifyAnswer]] of viaFastify.entries()) {
      expect({ step: name, ...(viaFetch[i]?.[1] as object) }).toEqual({ step: name, ...(fastifyAnswer as object) });
    }
    expect(viaFetch.length).toBe(viaFastify.length);
    // The second-factor steps did what they say (not merely failed alike).
    const statusOf = (name: string) =>
      (viaFastify.find(([n]) => n === name)?.[1] as { status?: number } | undefined)?.status;
    expect(
      [
        "totp begin",
        "totp confirm",
        "login, second factor",
        "second factor, replayed",
        "second factor",
        "second factor, used",
        "token, second factor",
        "totp remove",
      ].map(statusOf),
    ).toEqual([200, 200, 202, 401, 200, 401, 202, 204]);
    // And the passkey steps did what they say.
    const codeOf = (name: string) => {
      const answer = viaFastify.find(([n]) => n === name)?.[1] as { status?: number; code?: string } | undefined;
      return `${answer?.status} ${answer?.code ?? ""}`.trim();
    };
    expect(
      Object.fromEntries(
        [
          "passkey register, hostile",
          "passkey register, no session",
          "passkey register",
          "passkey register, replayed",
          "passkey register, taken",
          "passkey rename",
          "passkey rename, blank",
          "passkey rename, unknown",
          "passkey login, hostile",
          "passkey login, unbound",
          "passkey login",
          "passkey login, replayed",
          "passkey login, counter backwards",
          "passkey token, hostile",
          "passkey token, unknown challenge",
          "passkey token",
          "passkey token, replayed",
          "login, passkey second factor",
          "second factor, passkey",
          "reauthenticate, passkey and password",
          "reauthenticate, passkey",
          "passkey remove",
          "passkey remove, again",
          "passkey login, removed",
        ].map((name) => [name, codeOf(name)]),
      ),
    ).toEqual({
      "passkey register, hostile": "400 invalid_request",
      "passkey register, no session": "401 unauthenticated",
      "passkey register": "201",
      "passkey register, replayed": "401 invalid_passkey",
      "passkey register, taken": "409 factor_exists",
      "passkey rename": "200",
      "passkey rename, blank": "400 invalid_request",
      "passkey rename, unknown": "404 not_found",
      "passkey login, hostile": "400 invalid_request",
      "passkey login, unbound": "401 invalid_passkey",
      "passkey login": "200",
      "passkey login, replayed": "401 invalid_passkey",
      "passkey login, counter backwards": "401 invalid_passkey",
      "passkey token, hostile": "400 invalid_request",
      "passkey token, unknown challenge": "401 invalid_passkey",
      "passkey token": "200",
      "passkey token, replayed": "401 invalid_passkey",
      "login, passkey second factor": "202",
      "second factor, passkey": "200",
      "reauthenticate, passkey and password": "400 invalid_request",
      "reauthenticate, passkey": "200",
      "passkey remove": "204",
      "passkey remove, again": "404 not_found",
      "passkey login, removed": "401 invalid_passkey",
    });
    // The same mails, in the same order, to the same addresses.
    const mailed = (outbox: Outbox) => outbox.map((m) => `${m.kind} ${m.to} ${m.subject}`);
    expect(mailed(fetchMail)).toEqual(mailed(fastifyMail));
    expect(mailed(fastifyMail)).toEqual([
      "verify_email carol@example.com Confirm your email address",
      "reset_password carol@example.com Reset your password",
      "verify_email carol@new.example Confirm your email address",
      "email_change_notice carol@example.com Your email address is being changed",
      "reset_password carol@example.com Reset your password",
    ]);
  });
});

/**
 * Issue 25 (items 4, 5 and 6): latchkey beside a host's own routes, in every adapter, on a
 * real socket. Nothing of latchkey reaches the host's routes (its `no-store`, its CORS for
 * `corsOrigins`, its error format); `POST /auth/logout` with a JSON type and no body is
 * one rule everywhere; a store that fails while the revocation stream pages ends that
 * stream, and the host stays up.
 */
const PARTNER = "https://partner.example";

interface HostApp {
  base: string;
  close(): Promise<void>;
}
type HostFactory = (auth: Auth, strategy?: Strategy) => Promise<HostApp>;

/** The host's own routes, the same in every framework. */
const HOST_ROUTES = { data: { host: "data" }, item: { host: "item" }, error: { host: "error" } };
/** What every host adds to every answer of its own (a compression middleware's `Vary`). */
const HOST_VARY = "Accept-Encoding";

async function onSocket(server: Server): Promise<string> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function shut(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

async function closeBoth(guest: { close(): void }, server: Server): Promise<void> {
  guest.close();
  await shut(server);
}

const guestOptions = (auth: Auth, strategy: Strategy = "session") => ({
  auth,
  publicOrigin: ORIGIN,
  corsOrigins: [PARTNER],
  strategy,
  maintenance: false as const,
});

/**
 * Every host also has `GET /host/private` behind `requireAuth` and `GET /host/maybe` behind
 * `optionalAuth`, each answering `{ user }`.
 */
const HOSTS: [string, HostFactory][] = [
  [
    "Fastify",
    async (auth, strategy) => {
      const app = Fastify();
      app.setErrorHandler((_error, _request, reply) => {
        reply.code(500).send(HOST_ROUTES.error);
      });
      app.addHook("onRequest", async (_request, reply) => {
        reply.header("vary", HOST_VARY);
      });
      await app.register(latchkey, guestOptions(auth, strategy));
      app.get("/host/data", async () => HOST_ROUTES.data);
      app.post("/host/items", async (_request, reply) => reply.code(201).send(HOST_ROUTES.item));
      app.get("/host/boom", async () => {
        throw new Error("the host's own failure");
      });
      app.get("/host/private", { preHandler: app.requireAuth }, async (request) => ({ user: request.auth?.userId }));
      app.get("/host/maybe", { preHandler: app.optionalAuth }, async (request) => ({
        user: request.auth?.userId ?? null,
      }));
      await app.listen({ port: 0, host: "127.0.0.1" });
      return { base: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`, close: () => app.close() };
    },
  ],
  [
    "Express",
    async (auth, strategy) => {
      const guest = latchkeyExpress(guestOptions(auth, strategy));
      const app = express();
      app.use((_req, res, next) => {
        res.setHeader("vary", HOST_VARY);
        next();
      });
      app.use(guest.routes);
      app.get("/host/data", (_req, res) => {
        res.json(HOST_ROUTES.data);
      });
      app.post("/host/items", (_req, res) => {
        res.status(201).json(HOST_ROUTES.item);
      });
      app.get("/host/boom", () => {
        throw new Error("the host's own failure");
      });
      app.get("/host/private", guest.requireAuth, (req, res) => {
        res.json({ user: req.auth?.userId });
      });
      app.get("/host/maybe", guest.optionalAuth, (req, res) => {
        res.json({ user: req.auth?.userId ?? null });
      });
      app.use((_error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
        res.status(500).json(HOST_ROUTES.error);
      });
      const server = createServer(app);
      const base = await onSocket(server);
      return { base, close: () => closeBoth(guest, server) };
    },
  ],
  [
    "Hono",
    async (auth, strategy) => {
      const guest = latchkeyHono(guestOptions(auth, strategy));
      const app = new Hono<OptionalAuthEnv>();
      // Hono's way: a middleware adds its headers to the answer after `next()`.
      app.use(async (c, next) => {
        await next();
        c.header("vary", HOST_VARY, { append: true });
      });
      app.use(guest.routes);
      app.get("/host/data", (c) => c.json(HOST_ROUTES.data));
      app.post("/host/items", (c) => c.json(HOST_ROUTES.item, 201));
      app.get("/host/boom", () => {
        throw new Error("the host's own failure");
      });
      app.get("/host/private", guest.requireAuth, (c) => c.json({ user: c.var.auth.userId }));
      app.get("/host/maybe", guest.optionalAuth, (c) => c.json({ user: c.var.auth?.userId ?? null }));
      app.onError((_error, c) => c.json(HOST_ROUTES.error, 500));
      const server = createAdaptorServer({ fetch: app.fetch }) as Server;
      const base = await onSocket(server);
      return { base, close: () => closeBoth(guest, server) };
    },
  ],
  [
    "fetch",
    async (auth, strategy) => {
      const guest = createFetchHandler(guestOptions(auth, strategy));
      const host = async (request: Request, ip: string): Promise<Response> => {
        const { pathname } = new URL(request.url);
        if (pathname === "/host/data" && request.method === "GET") return Response.json(HOST_ROUTES.data);
        if (pathname === "/host/items" && request.method === "POST")
          return Response.json(HOST_ROUTES.item, { status: 201 });
        if (pathname === "/host/boom") return Response.json(HOST_ROUTES.error, { status: 500 });
        if (pathname === "/host/private")
          return guest.protect(request, { ip }, (who) => Response.json({ user: who.userId }));
        if (pathname === "/host/maybe") {
          const who = await guest.optionalAuth(request, { ip });
          return Response.json({ user: who.auth?.userId ?? null }, { headers: who.headers });
        }
        return new Response("Not found", { status: 404 });
      };
      const server = createServer(
        toNodeHandler(async (request, { ip }) => {
          const response = (await guest.handle(request, { ip })) ?? (await host(request, ip));
          response.headers.append("vary", HOST_VARY);
          return response;
        }),
      );
      const base = await onSocket(server);
      return { base, close: () => closeBoth(guest, server) };
    },
  ],
];

/** Every header latchkey could have put on an answer of the host's. */
function latchkeyHeaders(response: Response): Record<string, string> {
  const found: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    const leaked =
      name.startsWith("access-control-") ||
      (name === "vary" && /origin/i.test(value)) ||
      (name === "cache-control" && /no-store/i.test(value)) ||
      name === "set-cookie" ||
      name === "www-authenticate";
    if (leaked) found[name] = value;
  });
  return found;
}

describe.each(HOSTS)("latchkey beside a host's routes: %s", (_name, start) => {
  let host: HostApp;
  let stores: Stores;
  let auth: Auth;
  beforeAll(async () => {
    stores = createMemoryStores();
    auth = await createAuth({
      stores,
      sessions: DEFAULT_SESSION_POLICY,
      throttle: DEFAULT_THROTTLE_POLICY,
      tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
      hasher: { hash: async (p) => `plain:${p}`, verify: async (h, p) => h === `plain:${p}`, needsRehash: () => false },
    });
    host = await start(auth);
  });
  afterAll(async () => {
    await host.close();
    auth.stop();
  });

  it("issue 25 item 4: the host's routes get none of latchkey's headers, CORS answers or error format", async () => {
    const fromPartner = { origin: PARTNER };
    // latchkey's own routes do answer the partner (so the checks below can fail).
    const ownPreflight = await fetch(`${host.base}/auth/token`, {
      method: "OPTIONS",
      headers: { ...fromPartner, "access-control-request-method": "POST" },
    });
    expect(ownPreflight.headers.get("access-control-allow-origin")).toBe(PARTNER);
    const own = await fetch(`${host.base}/auth/me`, { headers: fromPartner });
    expect([own.status, own.headers.get("access-control-allow-origin"), own.headers.get("cache-control")]).toEqual([
      401,
      PARTNER,
      "no-store",
    ]);

    const data = await fetch(`${host.base}/host/data`, { headers: fromPartner });
    expect([data.status, await data.json(), latchkeyHeaders(data)]).toEqual([200, HOST_ROUTES.data, {}]);
    const item = await fetch(`${host.base}/host/items`, {
      method: "POST",
      headers: { ...fromPartner, "content-type": "application/json" },
      body: "{}",
    });
    expect([item.status, await item.json(), latchkeyHeaders(item)]).toEqual([201, HOST_ROUTES.item, {}]);
    const preflight = await fetch(`${host.base}/host/data`, {
      method: "OPTIONS",
      headers: { ...fromPartner, "access-control-request-method": "DELETE" },
    });
    expect(latchkeyHeaders(preflight)).toEqual({});
    const boom = await fetch(`${host.base}/host/boom`, { headers: fromPartner });
    expect([boom.status, await boom.json(), latchkeyHeaders(boom)]).toEqual([500, HOST_ROUTES.error, {}]);
    const missing = await fetch(`${host.base}/host/nowhere`, { headers: fromPartner });
    expect(missing.status).toBe(404);
    expect(await missing.text()).not.toContain('"error":{"code"');
    expect(latchkeyHeaders(missing)).toEqual({});
  });

  it("issue 25 item 6: POST /auth/logout with a JSON type and no body is a 204, with or without Content-Length", async () => {
    const json = { origin: ORIGIN, "content-type": "application/json" };
    const bare = await fetch(`${host.base}/auth/logout`, { method: "POST", headers: json });
    expect(bare.status).toBe(204);
    const zero = await fetch(`${host.base}/auth/logout`, { method: "POST", headers: json, body: "" });
    expect(zero.status).toBe(204);
    // Over a raw socket: no Content-Length and no body at all, as curl -X POST sends it.
    const raw = await rawRequest(host.base, "POST /auth/logout HTTP/1.1", { ...json, connection: "close" });
    expect(raw).toMatch(/^HTTP\/1\.1 204/);
    // A route that needs a body still says so.
    const login = await fetch(`${host.base}/auth/login`, { method: "POST", headers: json });
    expect([login.status, ((await login.json()) as { error: { code: string } }).error.code]).toEqual([
      400,
      "invalid_request",
    ]);
  });

  it("issue 25 item 5: a store that fails while the revocation stream pages ends the stream; the host stays up", async () => {
    const now = Date.now();
    for (let i = 0; i <= REVOCATIONS_PAGE_MAX; i++) await stores.changes.publish("session_ended", `s${i}`, now);
    const { service, clientSecret } = await auth.services.create(`billing${Math.random().toString(36).slice(2)}`);
    const read = stores.changes.read.bind(stores.changes);
    const failures: unknown[] = [];
    const onFailure = (error: unknown) => failures.push(error);
    process.on("unhandledRejection", onFailure);
    process.on("uncaughtException", onFailure);
    // The first page reads; the next one finds the store gone.
    stores.changes.read = async (after, notBefore, limit) => {
      if (after > 0) throw new Error("the store is gone");
      return read(after, notBefore, limit);
    };
    try {
      const stream = await subscribe(`${host.base}/auth/revocations`, basic(service.id, clientSecret));
      expect(stream.response.status).toBe(200);
      await stream.waitForEnd(5000);
      expect(stream.events.filter((event) => event.event === "revocation").length).toBeGreaterThan(0);
      stores.changes.read = read;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(failures).toEqual([]);
      expect((await fetch(`${host.base}/.well-known/jwks.json`)).status).toBe(200);
    } finally {
      stores.changes.read = read;
      process.off("unhandledRejection", onFailure);
      process.off("uncaughtException", onFailure);
    }
  });
  it("review of issue 25, item 8: latchkey's Vary joins the one the host set (Accept-Encoding), never replaces it", async () => {
    const own = await fetch(`${host.base}/auth/me`, { headers: { origin: PARTNER } });
    expect(own.headers.get("access-control-allow-origin")).toBe(PARTNER);
    const vary = (own.headers.get("vary") ?? "").split(/\s*,\s*/).map((name) => name.toLowerCase());
    expect(vary.sort()).toEqual(["accept-encoding", "origin"]);
  });

  it("review of issue 25, item 5: a refused body that never ends is read away for at most 1 s, then its connection closes", async () => {
    const { hostname, port } = new URL(host.base);
    const socket = connect(Number(port), hostname);
    await once(socket, "connect");
    let answer = "";
    socket.on("data", (chunk) => {
      answer += String(chunk);
    });
    const closed = new Promise<number>((resolve) => socket.once("close", () => resolve(Date.now())));
    // 100 MiB announced; 70 KiB sent, then nothing: a client that keeps the connection busy.
    socket.write(
      `POST /auth/login HTTP/1.1\r\nhost: ${hostname}:${port}\r\norigin: ${ORIGIN}\r\n` +
        `content-type: application/json\r\ncontent-length: ${100 * 1024 * 1024}\r\n\r\n`,
    );
    socket.write(Buffer.alloc(70 * 1024, 0x20));
    const sent = Date.now();
    const timeout = new Promise<"open">((resolve) => setTimeout(() => resolve("open"), 4000));
    const outcome = await Promise.race([closed, timeout]);
    socket.destroy();
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    expect(outcome).not.toBe("open");
    expect((outcome as number) - sent).toBeLessThan(3000);
  });
});

/**
 * Review of issue 25, item 2 (security checklist 42): under `hybrid`, `requireAuth` and
 * `optionalAuth` renew an expired or missing access cookie on the host's own answer. An
 * answer that carries a credential must never be stored by a shared cache, so it says
 * `Cache-Control: private, no-store`; an answer without a renewal is left as the host made it.
 */
describe.each(HOSTS)("a renewed access cookie on a host's answer: %s", (_name, start) => {
  let host: HostApp;
  let auth: Auth;
  let sessionCookie: string;
  beforeAll(async () => {
    auth = await createAuth({
      stores: createMemoryStores(),
      sessions: DEFAULT_SESSION_POLICY,
      throttle: DEFAULT_THROTTLE_POLICY,
      tokens: { ...DEFAULT_TOKEN_POLICY, issuer: ORIGIN },
      hasher: { hash: async (p) => `plain:${p}`, verify: async (h, p) => h === `plain:${p}`, needsRehash: () => false },
    });
    host = await start(auth, "hybrid");
    const json = { origin: ORIGIN, "content-type": "application/json" };
    const body = JSON.stringify({ username: "renewed", password: PASSWORD });
    expect((await fetch(`${host.base}/auth/register`, { method: "POST", headers: json, body })).status).toBe(201);
    const login = await fetch(`${host.base}/auth/login`, { method: "POST", headers: json, body });
    expect(login.status).toBe(200);
    const cookies = login.headers.getSetCookie().map((line) => line.split(";")[0] as string);
    sessionCookie = cookies.find((pair) => pair.startsWith("__Host-sid=")) as string;
    expect(sessionCookie).toBeDefined();
  });
  afterAll(async () => {
    await host.close();
    auth.stop();
  });

  for (const path of ["/host/private", "/host/maybe"]) {
    it(`security 42: ${path} with the session cookie alone renews the access cookie, with Cache-Control: private, no-store`, async () => {
      const renewed = await fetch(`${host.base}${path}`, { headers: { cookie: sessionCookie } });
      expect(renewed.status).toBe(200);
      expect(((await renewed.json()) as { user: string | null }).user).toEqual(expect.any(String));
      const access = renewed.headers.getSetCookie().find((line) => line.startsWith("__Host-at="));
      expect(access).toBeDefined();
      expect(renewed.headers.get("cache-control")).toBe("private, no-store");
      // With the renewed access cookie nothing is renewed, and the host's answer is its own.
      const cookie = `${sessionCookie}; ${(access as string).split(";")[0]}`;
      const plain = await fetch(`${host.base}${path}`, { headers: { cookie } });
      expect(plain.status).toBe(200);
      expect(plain.headers.getSetCookie()).toEqual([]);
      expect(plain.headers.get("cache-control")).toBeNull();
    });
  }
});

describe("review of issue 25, item 9: protect under hybrid renewal", () => {
  it("adds the renewed cookie to a response whose headers are immutable (Response.redirect) by copying it", async () => {
    const auth = await core();
    const handler = createFetchHandler({ auth, publicOrigin: ORIGIN, strategy: "hybrid", maintenance: false });
    try {
      await auth.accounts.register("redirected", PASSWORD, { ip: "192.0.2.7", userAgent: "" });
      const login = await handler.handle(
        new Request(`${ORIGIN}/auth/login`, {
          method: "POST",
          headers: { origin: ORIGIN, "content-type": "application/json" },
          body: JSON.stringify({ username: "redirected", password: PASSWORD }),
        }),
        { ip: "192.0.2.7" },
      );
      const session = (login as Response).headers
        .getSetCookie()
        .map((line) => line.split(";")[0] as string)
        .find((pair) => pair.startsWith("__Host-sid="));
      const request = new Request(`${ORIGIN}/go`, { headers: { cookie: session as string } });
      const response = await handler.protect(request, { ip: "192.0.2.7" }, () =>
        Response.redirect(`${ORIGIN}/elsewhere`, 302),
      );
      expect(response.status).toBe(302);
      expect(response.headers.get("location")).toBe(`${ORIGIN}/elsewhere`);
      expect(response.headers.getSetCookie().some((line) => line.startsWith("__Host-at="))).toBe(true);
      expect(response.headers.get("cache-control")).toBe("private, no-store");
    } finally {
      handler.close();
      auth.stop();
    }
  });
});

/** One request over a raw socket (to send what `fetch` never does); the answer's text. */
async function rawRequest(base: string, line: string, headers: Record<string, string>): Promise<string> {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  await once(socket, "connect");
  const head = Object.entries({ host: `${hostname}:${port}`, ...headers })
    .map(([name, value]) => `${name}: ${value}`)
    .join("\r\n");
  socket.write(`${line}\r\n${head}\r\n\r\n`);
  let text = "";
  for await (const chunk of socket) text += String(chunk);
  return text;
}
