/**
 * What the package tests ask of a running host app (test/package/apps): a user's whole
 * journey through latchkey's routes and the host's own, hostile input on latchkey's routes,
 * and a wrong set-up's error.
 */
import { expect } from "vitest";
import { HttpClient } from "../helpers/http-client.js";
import type { RunningServer } from "../helpers/processes.js";

export const ORIGIN = "http://localhost:3000";
export const PARTNER = "https://partner.example";
export const PASSWORD = "correct horse battery staple";
export const SETUP_ERROR = "latchkey is set up wrong: ";
export type Strategy = "session" | "jwt" | "hybrid";

const CREDENTIAL_COOKIES = {
  session: ["__Host-sid"],
  jwt: ["__Host-at", "__Host-rt"],
  hybrid: ["__Host-at", "__Host-sid"],
} as const;

/** The error code of an answer: the contract's body, or a host handler's own `{ code }`. */
export async function codeOf(response: Response): Promise<string | undefined> {
  const body = (await response.json()) as { error?: { code: string }; code?: string };
  return body.error?.code ?? body.code;
}

/** What a host app has of its own beyond the common routes, for the journey to check. */
export interface HostFeatures {
  /** `GET /api/hello` behind optional authentication. */
  hello?: boolean;
  /** `GET /account` sends a stranger to `/sign-in`. */
  signInRedirect?: boolean;
  /** Its 404 is `{ host: "not found" }`. */
  notFound?: boolean;
}

/**
 * Registers, logs in, calls the host's own routes, refreshes, logs out; the host's own
 * routes, hooks and errors stay its own.
 */
export async function fullFlow(
  base: string,
  prefix: string,
  strategy: Strategy,
  features: HostFeatures = {},
): Promise<void> {
  const alice = new HttpClient(ORIGIN);
  const username = `alice${strategy}`;
  const auth = (path: string) => `${prefix}/auth${path}`;

  if (features.hello) expect(await (await fetch(`${base}/api/hello`)).json()).toEqual({ hello: "guest" });
  if (features.signInRedirect) {
    const page = await fetch(`${base}/account`, { redirect: "manual" });
    expect([page.status, page.headers.get("location")]).toEqual([303, "/sign-in?next=%2Faccount"]);
  }

  expect((await alice.request(base, "POST", auth("/register"), { username, password: PASSWORD })).status).toBe(201);
  const login = await alice.login(base, username, PASSWORD, auth("/login"));
  expect(login.status).toBe(200);
  const set = login.headers.getSetCookie().map((line) => line.split("=")[0]);
  for (const name of [...CREDENTIAL_COOKIES[strategy], "__Host-csrf"]) expect(set).toContain(name);
  for (const line of login.headers.getSetCookie()) {
    expect(line).toMatch(/; Path=\//);
    expect(line).toMatch(/; Secure/);
    expect(line).toMatch(/; SameSite=Lax/i);
  }
  const me = (await login.json()) as { user: { id: string } };

  // A route of the host's own, behind requireAuth.
  const whoami = await alice.request(base, "GET", "/api/whoami");
  expect(whoami.status).toBe(200);
  expect(await whoami.json()).toEqual({ user: me.user.id, via: "cookie" });
  expect(whoami.headers.get("x-host-hook")).toBe("1");
  if (features.hello) {
    expect(await (await alice.request(base, "GET", "/api/hello")).json()).toEqual({ hello: me.user.id });
  }
  // Unsafe cookie requests to it need the CSRF header and our origin.
  const csrf = alice.csrf;
  alice.csrf = "";
  const noCsrf = await alice.request(base, "POST", "/api/notes", {});
  expect(noCsrf.status).toBe(403);
  expect(await codeOf(noCsrf)).toBe("csrf_failed");
  alice.csrf = csrf;
  expect((await alice.request(base, "POST", "/api/notes", {})).status).toBe(200);
  const foreign = await alice.request(base, "POST", "/api/notes", {}, { origin: "https://evil.example" });
  expect(foreign.status).toBe(403);
  expect(await codeOf(foreign)).toBe("forbidden_origin");

  if (strategy === "hybrid") {
    // No access cookie, a live session cookie: renewed on the host's own route.
    alice.cookies.delete("__Host-at");
    const renewed = await alice.request(base, "GET", "/api/whoami");
    expect(renewed.status).toBe(200);
    expect(renewed.headers.getSetCookie().some((line) => line.startsWith("__Host-at="))).toBe(true);
  }
  if (strategy === "jwt") {
    const before = alice.cookies.get("__Host-rt");
    const refreshed = await alice.request(base, "POST", auth("/refresh"));
    expect(refreshed.status).toBe(200);
    expect(alice.cookies.get("__Host-rt")).not.toBe(before);
  }

  // Bearer tokens reach the host's route too.
  const access = await bearerLogin(base, prefix, username);
  const bearer = await fetch(`${base}/api/whoami`, { headers: { authorization: `Bearer ${access}` } });
  expect(await bearer.json()).toEqual({ user: me.user.id, via: "bearer" });
  expect((await fetch(`${base}${prefix}/.well-known/jwks.json`)).status).toBe(200);

  // Logout ends the session: its cookies, replayed, are refused in the contract's format.
  const kept = new Map(alice.cookies);
  expect((await alice.request(base, "POST", auth("/logout"))).status).toBe(204);
  for (const [name, value] of kept) alice.cookies.set(name, value);
  const after = await alice.request(base, "GET", "/api/whoami");
  expect(after.status).toBe(401);
  expect(await codeOf(after)).toBe("unauthenticated");

  // The host's own routes and errors are untouched.
  const webhook = await fetch(`${base}/webhooks/payment`, {
    method: "POST",
    headers: { origin: "https://payments.example", "content-type": "application/json" },
    body: "{}",
  });
  expect(webhook.status).toBe(200);
  expect(await webhook.json()).toEqual({ received: true });
  const boom = await fetch(`${base}/boom`);
  expect(boom.status).toBe(500);
  expect(boom.headers.get("x-host-handler")).toBe("1");
  expect(((await boom.json()) as { host: string }).host).toBe("error");
  const missing = await fetch(`${base}/nowhere`);
  expect(missing.status).toBe(404);
  const text = await missing.text();
  expect(text).not.toContain('"error":{"code"');
  if (features.notFound) expect(JSON.parse(text)).toEqual({ host: "not found" });
}

/** A bearer login (`POST /auth/token`): the access token. */
export async function bearerLogin(
  base: string,
  prefix: string,
  username: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const token = await fetch(`${base}${prefix}/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  expect(token.status).toBe(200);
  return ((await token.json()) as { access_token: string }).access_token;
}

/** A passkey's answer in the shape the routes take, of no credential anyone registered. */
const STRANGER = {
  id: "AAAA",
  rawId: "AAAA",
  type: "public-key",
  response: { clientDataJSON: "e30", authenticatorData: "AAAA", signature: "AAAA" },
  clientExtensionResults: {},
};

/** Hostile input on latchkey's routes: answered in the contract's format, never 500. */
export async function badInput(base: string, prefix: string): Promise<void> {
  const post = (path: string, body: string, type = "application/json") =>
    fetch(`${base}${prefix}/auth${path}`, { method: "POST", headers: { origin: ORIGIN, "content-type": type }, body });
  const cases: [Response, number, string][] = [
    [await post("/login", "{"), 400, "invalid_request"],
    [await post("/login", "{}"), 400, "invalid_request"],
    [await post("/login", JSON.stringify({ username: 1, password: "x" })), 400, "invalid_request"],
    [await post("/login", "username=a&password=b", "application/x-www-form-urlencoded"), 415, "unsupported_media_type"],
    [await post("/login", JSON.stringify({ username: "a", password: "x".repeat(70_000) })), 413, "payload_too_large"],
    [await post("/login", '{"__proto__": {"x": 1}, "username": "a", "password": "b"}'), 400, "invalid_request"],
    [await post("/login", JSON.stringify({ username: "nobody", password: PASSWORD })), 401, "invalid_credentials"],
    // Passkeys (issue 32): a malformed answer, and a well-formed one to no challenge.
    [await post("/login/passkey", JSON.stringify({ response: {} })), 400, "invalid_request"],
    [
      await post("/token/passkey", JSON.stringify({ challenge_token: "a.b", response: STRANGER })),
      401,
      "invalid_passkey",
    ],
    // PATCH reaches latchkey through every host (a rename, here with no credential).
    [
      await fetch(`${base}${prefix}/auth/factors/passkeys/x`, {
        method: "PATCH",
        headers: { origin: ORIGIN, "content-type": "application/json" },
        body: JSON.stringify({ name: "Phone" }),
      }),
      401,
      "unauthenticated",
    ],
  ];
  for (const [response, status, code] of cases) {
    expect([response.status, ((await response.json()) as { error: { code: string } }).error.code]).toEqual([
      status,
      code,
    ]);
    expect(response.headers.get("cache-control")).toBe("no-store");
  }
  if (prefix) expect((await fetch(`${base}/auth/me`)).status).toBe(404);
}

/**
 * A wrong set-up, seen by the host: the request is handed to its error handler (a 500,
 * not latchkey's contract format and never a silent 404), and the `LatchkeySetupError`'s
 * message, naming the fix, reaches the response or the app's log.
 */
export async function expectSetupError(server: RunningServer, response: Response, fix: RegExp): Promise<string> {
  expect(response.status).toBe(500);
  const body = await response.text();
  let answered = "";
  try {
    answered = String((JSON.parse(body) as { message?: unknown }).message ?? "");
  } catch {
    answered = body;
  }
  // The app's log may lag the answer by a moment.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const said = [answered, ...server.output().split("\n")].find((line) => line.includes(SETUP_ERROR));
  expect(said, `no "${SETUP_ERROR}" in the answer (${body}) or the log:\n${server.output()}`).toBeDefined();
  const message = (said as string).slice((said as string).indexOf(SETUP_ERROR));
  expect(message).toMatch(fix);
  return message;
}
