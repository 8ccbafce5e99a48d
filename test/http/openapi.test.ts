/**
 * The OpenAPI document against the server that serves it: every route the app registers
 * is documented (but the web app's pages and assets and the docs UI, which are not API),
 * every documented operation exists, and every documented answer is what the route
 * answers: for each operation and each documented status, one request that should get it,
 * whose status must match and whose body must validate against the documented schema.
 * The security requirements are held to the server as well: a secured operation refuses a
 * request with no credential, and a cookie request that changes state without the CSRF
 * header.
 */
import { request as httpRequest } from "node:http";
import type { RegistrationResponseJSON } from "@simplewebauthn/server";
import { Ajv2020 } from "ajv/dist/2020.js";
import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASSKEY_CHALLENGES_PER_ADDRESS, PASSKEYS_PER_USER } from "../../packages/latchkey/src/core/passkeys.js";
import { DEFAULT_STREAM_LIMITS } from "../../packages/latchkey/src/core/revocations.js";
import { SERVICE_AUTH_FAILURES_PER_ADDRESS } from "../../packages/latchkey/src/core/services.js";
import { totpCode, totpKey, totpStep } from "../../packages/latchkey/src/core/totp.js";
import { ADMIN_WRITES_PER_MINUTE } from "../../packages/latchkey/src/http/admin-caller.js";
import { type Client, type Harness, ORIGIN, PASSWORD, startHarness, uniqueName } from "../helpers/harness.js";
import { SoftAuthenticator } from "../helpers/soft-authenticator.js";

interface Operation {
  operationId: string;
  security?: Record<string, string[]>[];
  requestBody?: unknown;
  responses: Record<string, { content?: { "application/json"?: { schema: unknown } } }>;
}
type Document = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };

let h: Harness;
/** A server whose origin is an IP address: it has no domain to bind passkeys to (`409 factor_unavailable`). */
let noPasskeys: Harness | undefined;
const IP_ORIGIN = "http://127.0.0.1:3000";
let doc: Document;
let ajv: Ajv2020;

beforeAll(async () => {
  // Two registrations per address an hour, so the register limit (429) is in reach; the
  // other clients use addresses of their own.
  h = await startHarness({ REGISTER_ADDRESS_MAX: "2" });
  await h.app.ready();
  doc = (await h.app.inject({ method: "GET", url: "/openapi.json" })).json() as Document;
  ajv = new Ajv2020({ strict: false, allErrors: true });
  ajv.addFormat("date-time", true);
  // The document's components, addressable as the document's own refs say.
  ajv.addSchema({ $id: "doc", components: doc.components }, "doc");
});
afterAll(async () => {
  await h.close();
  await noPasskeys?.close();
});

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({ path, method: method.toUpperCase(), operation })),
  );

describe("the document and the routes", () => {
  it("documents every route the app registers, and nothing it does not", () => {
    const documented = new Set(operations().map(({ path, method }) => `${method} ${path}`));
    const registered = h.server.routes
      .filter((route) => route.method !== "HEAD")
      .map((route) => ({ ...route, key: `${route.method} ${route.url.replace(/:([a-z]+)/g, "{$1}")}` }));
    const undocumented = registered.filter((route) => route.documented && !documented.has(route.key));
    expect(undocumented.map((route) => route.key)).toEqual([]);
    // What is kept out: the web app's pages and files (the insecure lab's framed pages
    // included), the docs UI, and the document itself.
    const hidden = registered.filter((route) => !route.documented).map((route) => route.url);
    for (const url of hidden)
      expect(url).toMatch(
        /^\/($|signin$|signup$|todos$|devices$|security$|how-it-works$|admin$|compare$|lab($|\/)|forgot-password$|reset-password$|verify-email$|revert-email$|docs|openapi\.json$)|\.[a-z0-9]+$/,
      );
    const keys = new Set(registered.map((route) => route.key));
    expect([...documented].filter((key) => !keys.has(key))).toEqual([]);
  });

  it("gives every operation a unique operationId, a 4xx answer and its security", () => {
    const ids = operations().map(({ operation }) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { operation } of operations()) {
      expect(Object.keys(operation.responses).some((status) => status.startsWith("4"))).toBe(true);
      expect(operation.security).toBeDefined();
    }
  });
});

/** A signed-in browser, and the same user's API client tokens. */
interface World {
  browser: Client;
  username: string;
  access: string;
  refresh: string;
  todoId: string;
  otherSessionId: string;
  /** The browser's user: an admin. */
  userId: string;
  /** Another user, for the admin routes to act on (made only when asked for). */
  targetId: string;
  /** A service's HTTP Basic credentials. */
  service: string;
  /** The user's authenticator app, when the world was asked for one: its key, and a pending set-up's id. */
  totp?: { key: Uint8Array; factorId: string };
  /** The user's passkeys, when the world was asked for some: the authenticator holding them, and the first one's id. */
  passkey?: { authenticator: SoftAuthenticator; id: string };
}

/** What an operation's world needs of an authenticator app: a confirmed one, a set-up waiting, none. */
function totpFor(operationId: string, status: string): "confirmed" | "pending" | undefined {
  if (operationId === "confirmTotp") return "pending";
  // Without an app: nothing to remove (404), no codes to renew (400).
  if (
    (operationId === "removeTotp" && status === "404") ||
    (operationId === "regenerateRecoveryCodes" && status === "400")
  )
    return undefined;
  if (["removeTotp", "regenerateRecoveryCodes", "loginSecondFactor", "createTokenSecondFactor"].includes(operationId))
    return "confirmed";
  if ((operationId === "login" || operationId === "createToken") && status === "202") return "confirmed";
  if (operationId === "beginTotp" && status === "409") return "confirmed";
  return undefined;
}

/** What an operation's world needs of passkeys: one, as many as an account may hold, none. */
function passkeysFor(operationId: string, status: string): "one" | "full" | undefined {
  if (operationId === "passkeyRegistrationOptions" && status === "400") return "full";
  if (operationId === "registerPasskey" && status === "409") return "one"; // registered again: factor_exists
  if ((operationId === "renamePasskey" || operationId === "removePasskey") && status !== "404") return "one";
  if ((operationId === "loginPasskey" || operationId === "createTokenPasskey") && status === "200") return "one";
  return undefined;
}

/** A code of `w`'s app that it has not used: the step after the one that confirmed it (the clock is frozen). */
const nextCode = (w: World, ahead = 1) => totpCode(w.totp?.key ?? new Uint8Array(20), totpStep(h.clock.now()) + ahead);

let clients = 0;
/** An address of its own for each client, so one client's limits never reach another's. */
function freshIp(): string {
  clients += 1;
  return `10.77.${Math.floor(clients / 250)}.${(clients % 250) + 1}`;
}

/** An operator (the CLI), who needs no role. */
const OPERATOR = { actor: null, ip: "", userAgent: "test" };

async function world(
  options: { target?: boolean; totp?: "confirmed" | "pending"; passkeys?: "one" | "full" } = {},
): Promise<World> {
  const browser = h.client({ ip: freshIp() });
  const username = uniqueName("oas");
  const { user, session } = await browser.signUpAndLogIn(username);
  // An admin, so the operations that need a permission (`todos:read-any`, the admin
  // routes) answer their 200 too; a plain user's 403 has tests of its own.
  await h.server.auth.admin.setRoles(user.id, ["admin", "user"], { actor: null, ip: "", userAgent: "test" });
  const tokens = (await h.client({ ip: freshIp() }).token(username)).json() as {
    access_token: string;
    refresh_token: string;
  };
  const todo = (await browser.post("/api/todos", { title: "milk" })).json() as { todo: { id: string } };
  const other = h.client({ ip: freshIp() });
  const otherSession = (await other.login(username)).json() as { session: { id: string } };
  const { service, clientSecret } = await h.server.auth.services.create(`svc-${clients}`);
  let totp: World["totp"];
  if (options.totp) {
    const enrolment = await h.server.auth.factors.beginTotp({ id: user.id, username });
    const key = totpKey(enrolment.secret);
    if (options.totp === "confirmed") {
      await h.server.auth.factors.confirmTotp(user.id, enrolment.factorId, totpCode(key, totpStep(h.clock.now())), {});
      // As if each of the user's sessions had signed in with the app: a recent full sign-in.
      for (const session of await h.server.auth.sessions.listLive(user.id)) {
        await h.server.auth.sessions.reauthenticate(session.id, ["mfa", "otp", "pwd"]);
      }
    }
    totp = { key, factorId: enrolment.factorId };
  }
  const passkey = options.passkeys && (await addPasskeys({ id: user.id, username }, session.id, options.passkeys));
  return {
    totp,
    passkey,
    service: `Basic ${Buffer.from(`${service.id}:${clientSecret}`).toString("base64")}`,
    browser,
    username,
    access: tokens.access_token,
    refresh: tokens.refresh_token,
    todoId: todo.todo.id,
    otherSessionId: otherSession.session.id,
    userId: user.id,
    targetId: options.target ? (await h.server.auth.accounts.register(uniqueName("oastarget"), PASSWORD)).id : "",
  };
}

/**
 * Registers a passkey for the user through the library (as `POST /auth/factors/passkeys`
 * would, without ending the user's other sessions), or as many as an account may hold; then
 * each session counts as a recent sign-in with it, as with an authenticator app.
 */
async function addPasskeys(
  user: { id: string; username: string },
  sessionId: string,
  how: "one" | "full",
): Promise<World["passkey"]> {
  const { passkeys, sessions } = h.server.auth;
  const authenticator = new SoftAuthenticator(ORIGIN);
  // The software authenticator's transports are plain strings; the library's type names them.
  const answer = (options: { challenge: string; rp: { id?: string }; user: { id: string } }) =>
    authenticator.register(options) as RegistrationResponseJSON;
  const { options } = await passkeys.registrationOptions(user, sessionId);
  const first = await passkeys.register(user, sessionId, answer(options), undefined, OPERATOR);
  for (let i = 1; how === "full" && i < PASSKEYS_PER_USER; i++) {
    const more = await passkeys.registrationOptions(user, sessionId);
    await passkeys.register(user, sessionId, answer(more.options), undefined, OPERATOR);
  }
  for (const session of await sessions.listLive(user.id)) {
    await sessions.reauthenticate(session.id, ["hwk", "mfa", "pwd"]);
  }
  return { authenticator, id: first.id };
}

/** A WebAuthn answer of a credential this server does not know, for the refusals. */
function strangerAssertion() {
  const stranger = new SoftAuthenticator(ORIGIN);
  stranger.register({ challenge: "bm9uZQ", rp: { id: "localhost" }, user: { id: "bm9ib2R5" } });
  return stranger.assert({ challenge: "bm9uZQ" });
}

/** A registration answer for the challenge of `w`'s browser session (or of its access token's, `bearer`). */
async function registration(w: World, options: { bearer?: boolean; again?: boolean } = {}): Promise<object> {
  const url = "/auth/factors/passkeys/options";
  const begun = options.bearer ? await w.browser.bearer("POST", url, w.access) : await w.browser.post(url);
  if (begun.statusCode !== 200) throw new Error(`${url}: ${begun.body}`);
  const authenticator = w.passkey?.authenticator ?? new SoftAuthenticator(ORIGIN);
  // `again`: the world's passkey once more, as no authenticator would (excluded by the options).
  const reuse = options.again ? authenticator.credentials[0] : undefined;
  return { response: authenticator.register(begun.json().options, reuse ? { reuse } : {}) };
}

/**
 * The body of a passkey operation: an answer to a live challenge of `w`'s browser (its
 * cookie) or of a fresh `challenge_token`, by `w`'s passkey (or, without one, by a
 * credential nobody registered); a registration for `w`'s session.
 */
async function passkeyBody(operationId: string, status: string, w: World): Promise<unknown> {
  const by = (options: { challenge: string }) =>
    w.passkey ? w.passkey.authenticator.assert(options) : strangerAssertion();
  switch (operationId) {
    case "loginPasskey": {
      const { options } = (await w.browser.post("/auth/passkey/options")).json();
      return { response: by(options) };
    }
    case "createTokenPasskey": {
      const begun = await w.browser.request({ method: "POST", url: "/auth/token/passkey/options", cookies: false });
      const { options, challenge_token } = begun.json();
      return { challenge_token, response: by(options) };
    }
    case "registerPasskey":
      return registration(w, { again: status === "409" });
    case "renamePasskey":
      return { name: "Work laptop" };
    default:
      return undefined;
  }
}

/** The operations that hand out a passkey challenge. */
const PASSKEY_CHALLENGES = new Set(["passkeyOptions", "tokenPasskeyOptions", "passkeyRegistrationOptions"]);

const PASSKEY_OPERATIONS = new Set(["loginPasskey", "createTokenPasskey", "registerPasskey", "renamePasskey"]);

/**
 * `409 factor_unavailable`: the same request to a server whose origin is an IP address, so
 * it has no domain for passkeys; the registration's by a user signed in there.
 */
async function unavailable(operationId: string, method: "POST", target: string): Promise<LightMyRequestResponse> {
  noPasskeys ??= await startHarness({ PUBLIC_ORIGIN: IP_ORIGIN, COOKIE_SECURE: "false" });
  const client = noPasskeys.client({ ip: freshIp() });
  const headers = { origin: IP_ORIGIN };
  if (operationId === "passkeyRegistrationOptions") {
    const username = uniqueName("oasip");
    await client.post("/auth/register", { username, password: PASSWORD }, headers);
    const login = await client.post("/auth/login", { username, password: PASSWORD }, headers);
    client.csrfToken = login.json().csrfToken;
  }
  const body =
    operationId === "loginPasskey"
      ? { response: strangerAssertion() }
      : operationId === "createTokenPasskey"
        ? { challenge_token: "none.none", response: strangerAssertion() }
        : undefined;
  return client.request({ method, url: target, body, headers });
}

/** Whether an operation acts on a user of the admin routes (`/admin/users/{id}...`). */
const actsOnUser = (path: string) => path.startsWith("/admin/users/{id}");

/** Makes `userId` the only admin (every other loses the role), so acting on it is `409 last_admin`. */
async function onlyAdmin(userId: string): Promise<void> {
  const { admin } = h.server.auth;
  for (;;) {
    const others = (await admin.listUsers({ role: "admin", limit: 200 })).users.filter((u) => u.id !== userId);
    if (others.length === 0) return;
    for (const other of others) await admin.setRoles(other.id, ["user"], OPERATOR);
  }
}

const url = (path: string, w: World) =>
  path.replace(
    "{id}",
    path.startsWith("/auth/sessions")
      ? w.otherSessionId
      : actsOnUser(path)
        ? w.targetId
        : path.startsWith("/auth/factors/passkeys")
          ? (w.passkey?.id ?? "none")
          : w.todoId,
  );

/** A valid body for each operation that takes one. */
function validBody(operationId: string, w: World): unknown {
  switch (operationId) {
    case "login":
    case "createToken":
      return { username: w.username, password: PASSWORD };
    case "register":
      return { username: uniqueName("oasnew"), password: PASSWORD };
    case "changePassword":
      return { currentPassword: PASSWORD, newPassword: `${PASSWORD} again` };
    case "deleteAccount":
    case "reauthenticate":
      return { password: PASSWORD };
    case "refreshToken":
      return { refresh_token: w.refresh };
    case "revokeToken":
      return { token: "unknown" };
    case "introspectToken":
      return { token: w.access };
    case "createTodo":
      return { title: "eggs" };
    case "updateTodo":
      return { done: true };
    case "setUserRoles":
      return { roles: ["admin", "user"] };
    case "changeEmail":
      return { email: `${uniqueName("oasmail")}@example.com`, password: PASSWORD };
    case "resendVerification":
    case "forgotPassword":
      return { email: `${uniqueName("oasnobody")}@example.com` };
    case "confirmTotp":
      return {
        factorId: w.totp?.factorId ?? "none",
        code: totpCode(w.totp?.key ?? new Uint8Array(20), totpStep(h.clock.now())),
      };
    case "loginSecondFactor":
      return { code: nextCode(w) };
    case "createTokenSecondFactor":
      return { pending_token: "none.none", code: nextCode(w) };
    default:
      return undefined;
  }
}

/** The token of the last link mailed to `to` (the harness keeps the server's mail). */
async function mailedToken(to: string): Promise<string> {
  await h.server.auth.email.idle();
  const mail = h.mails.findLast((m) => m.to === to);
  const token = mail && /#token=([A-Za-z0-9_.-]+)/.exec(mail.text)?.[1];
  if (!token) throw new Error(`no link was mailed to ${to}`);
  return token;
}

/** `w`'s user gets a verified address (as if proved earlier); returns it. */
async function verifiedAddress(w: World): Promise<string> {
  const email = `${uniqueName("oasown")}@example.com`;
  await h.stores.users.setEmail(w.userId, email, h.clock.now());
  return email;
}

/** The body of an operation that takes a mailed link's token: a live link of its kind, for `w`'s user. */
async function linkBody(operationId: string, w: World): Promise<unknown> {
  if (operationId === "verifyEmail") {
    const email = `${uniqueName("oasnew")}@example.com`;
    await w.browser.request({ method: "PUT", url: "/auth/email", body: { email, password: PASSWORD } });
    return { token: await mailedToken(email) };
  }
  if (operationId === "revertEmail") {
    const old = await verifiedAddress(w);
    const email = `${uniqueName("oasnew")}@example.com`;
    await w.browser.request({ method: "PUT", url: "/auth/email", body: { email, password: PASSWORD } });
    return { token: await mailedToken(old) };
  }
  if (operationId === "resetPassword") {
    const email = await verifiedAddress(w);
    await h.client({ ip: freshIp() }).post("/auth/password/forgot", { email });
    return { token: await mailedToken(email), newPassword: `${PASSWORD} reset` };
  }
  return undefined;
}

const LINK_OPERATIONS = new Set(["verifyEmail", "revertEmail", "resetPassword"]);

/** The request that should get `status` from an operation, or `null` when it needs another channel (431). */
async function elicit(
  op: { path: string; method: string; operation: Operation },
  status: string,
): Promise<LightMyRequestResponse | null> {
  const { operationId } = op.operation;
  const w = await world({
    target: actsOnUser(op.path),
    totp: totpFor(operationId, status),
    passkeys: passkeysFor(operationId, status),
  });
  const target = url(op.path, w);
  const method = op.method as "GET";
  if (status === "409" && /[Pp]asskey/.test(operationId) && operationId !== "registerPasskey") {
    return unavailable(operationId, "POST", target);
  }
  const needsLink = LINK_OPERATIONS.has(operationId) && ["200", "204", "409"].includes(status);
  const body = needsLink
    ? await linkBody(operationId, w)
    : PASSKEY_OPERATIONS.has(operationId)
      ? await passkeyBody(operationId, status, w)
      : (validBody(operationId, w) ?? (LINK_OPERATIONS.has(operationId) ? { token: "x.y" } : undefined));
  // A service's operations carry its credentials, and never the browser's cookies.
  const asService = operationId === "introspectToken" || operationId === "readRevocations";
  const send = (options: Parameters<Client["request"]>[0]) =>
    w.browser.request(
      asService
        ? { ...options, cookies: false, csrf: false, headers: { authorization: w.service, ...options.headers } }
        : options,
    );
  if (operationId === "loginSecondFactor" || operationId === "createTokenSecondFactor") {
    return secondStep(operationId, status, w, { method, target, body: body as object });
  }
  switch (status) {
    case "200":
    case "201":
    case "202":
    case "204":
      if (operationId === "explainAccessToken") return w.browser.bearer(method, target, w.access);
      if (["refreshToken", "createToken", "revokeToken", "createTokenPasskey"].includes(operationId)) {
        return send({ method, url: target, body, cookies: false, csrf: false });
      }
      return send({ method, url: target, body });
    case "400":
      // As many passkeys as an account may hold: one more is refused.
      if (operationId === "passkeyRegistrationOptions") return send({ method, url: target });
      if (operationId === "listSessions" || operationId === "listUsers" || operationId === "listAuditEvents")
        return send({ method, url: `${target}?limit=0` });
      if (operationId === "readRevocations") return send({ method, url: `${target}?since=not-a-cursor` });
      return send({ method, url: target, body: [] });
    case "401":
      if (operationId === "login" || operationId === "createToken") {
        return send({
          method,
          url: target,
          body: { username: w.username, password: "not the password" },
          cookies: false,
        });
      }
      if (operationId === "refreshToken")
        return send({ method, url: target, body: { refresh_token: "x.y" }, cookies: false });
      if (operationId === "createTokenPasskey")
        return send({ method, url: target, body: { ...(body as object), challenge_token: "x.y" }, cookies: false });
      if (asService) return send({ method, url: target, body, headers: { authorization: "Basic bm86bm8=" } });
      if (operationId === "changePassword")
        return send({ method, url: target, body: { ...(body as object), currentPassword: "wrong one!" } });
      if (operationId === "deleteAccount" || operationId === "reauthenticate")
        return send({ method, url: target, body: { password: "wrong one!" } });
      if (operationId === "confirmTotp")
        return send({ method, url: target, body: { factorId: w.totp?.factorId, code: nextCode(w, 5) } });
      return send({ method, url: target, body, cookies: false, csrf: false });
    case "403": {
      // A read is never origin-checked: its 403 is a permission the caller lacks.
      if (method === "GET") {
        const plain = h.client({ ip: freshIp() });
        await plain.signUpAndLogIn(uniqueName("oasplain"));
        return plain.request({ method, url: target });
      }
      return send({ method, url: target, body, headers: { origin: "https://evil.example" } });
    }
    case "404":
      if (operationId === "explainAccessToken") return send({ method, url: target }); // cookies, session strategy
      return send({ method, url: op.path.replace("{id}", "no-such-id"), body });
    case "409":
      if (operationId === "changeEmail" || operationId === "verifyEmail") {
        // The address belongs to another account: taken before the change, or meanwhile.
        const taken =
          operationId === "changeEmail"
            ? `${uniqueName("oastaken")}@example.com`
            : (h.mails.findLast((m) => m.kind === "verify_email")?.to ?? "");
        const other = h.client({ ip: freshIp() });
        const registered = await other.post("/auth/register", {
          username: uniqueName("oasother"),
          password: PASSWORD,
          email: taken,
        });
        // Proved: an address held unverified would go to whoever proves it.
        await h.stores.users.setEmail(registered.json().user.id, taken, h.clock.now());
        return send({
          method,
          url: target,
          body: operationId === "changeEmail" ? { email: taken, password: PASSWORD } : body,
        });
      }
      // The world's passkey, registered again.
      if (operationId === "registerPasskey") return send({ method, url: target, body });
      if (actsOnUser(op.path)) {
        // The last admin, demoting, disabling or deleting itself.
        await onlyAdmin(w.userId);
        const self = op.path.replace("{id}", w.userId);
        return send({ method, url: self, body: operationId === "setUserRoles" ? { roles: ["user"] } : body });
      }
      return send({ method, url: target, body: { username: w.username, password: PASSWORD } });
    case "413":
      return send({ method, url: target, body: { padding: "x".repeat(70_000) } });
    case "415":
      return send({
        method,
        url: target,
        body: "a=b",
        headers: { "content-type": "text/plain" },
      });
    case "429": {
      if (operationId === "readRevocations") {
        // Every stream place of the instance taken: one more stream is refused.
        const places = Array.from({ length: DEFAULT_STREAM_LIMITS.perInstance }, (_, i) =>
          h.server.auth.revocations.reserveStream(`filler-${i}`),
        );
        try {
          return await send({ method, url: target, headers: { accept: "text/event-stream" } });
        } finally {
          for (const release of places) release();
        }
      }
      let last: LightMyRequestResponse | undefined;
      if (PASSKEY_CHALLENGES.has(operationId)) {
        // Challenges asked for from one address, past the limit (each is a stored row).
        const limit =
          operationId === "passkeyRegistrationOptions"
            ? PASSKEY_CHALLENGES_PER_ADDRESS.register
            : PASSKEY_CHALLENGES_PER_ADDRESS.sign_in;
        for (let i = 0; i <= limit && last?.statusCode !== 429; i++) {
          last = await send({ method, url: target });
        }
        return last ?? null;
      }
      if (actsOnUser(op.path)) {
        // One admin's changes, past the limit (a refused or failed change counts too).
        for (let i = 0; i <= ADMIN_WRITES_PER_MINUTE && last?.statusCode !== 429; i++) {
          last = await send({ method, url: target, body });
        }
        return last ?? null;
      }
      const client = h.client({ ip: freshIp() });
      if (operationId === "introspectToken") {
        // Refused client credentials from one address, past the limit.
        for (let i = 0; i <= SERVICE_AUTH_FAILURES_PER_ADDRESS && last?.statusCode !== 429; i++) {
          last = await client.request({
            method,
            url: target,
            body,
            cookies: false,
            csrf: false,
            headers: { authorization: "Basic bm86bm8=" },
          });
        }
        return last ?? null;
      }
      if (LINK_OPERATIONS.has(operationId)) {
        // Link uses from one address, past the limit (forged ones count too).
        for (let i = 0; i <= 60 && last?.statusCode !== 429; i++) {
          last = await client.request({
            method,
            url: target,
            body: { token: "x.y", newPassword: `${PASSWORD} reset` },
          });
        }
        return last ?? null;
      }
      client.cookies.clear();
      for (let i = 0; i < 12 && last?.statusCode !== 429; i++) {
        if (operationId === "changeEmail") {
          last = await send({ method, url: target, body: validBody(operationId, w) });
          continue;
        }
        if (operationId === "resendVerification" || operationId === "forgotPassword") {
          last = await client.request({ method, url: target, body });
          continue;
        }
        if (operationId === "confirmTotp") {
          last = await send({ method, url: target, body: { factorId: w.totp?.factorId, code: nextCode(w, 5) } });
          continue;
        }
        if (operationId === "register")
          last = await client.post(target, { username: uniqueName("oasmany"), password: PASSWORD });
        else if (
          operationId === "changePassword" ||
          operationId === "deleteAccount" ||
          operationId === "reauthenticate"
        ) {
          const wrong =
            operationId !== "changePassword"
              ? { password: "wrong one!" }
              : { currentPassword: "wrong one!", newPassword: `${PASSWORD} again` };
          last = await send({ method, url: target, body: wrong });
        } else
          last = await client.request({
            method,
            url: target,
            body: { username: w.username, password: "not the password" },
          });
      }
      return last ?? null;
    }
    case "503": {
      const ping = h.stores.ping;
      h.stores.ping = async () => {
        throw new Error("the database is gone");
      };
      try {
        return await send({ method, url: target });
      } finally {
        h.stores.ping = ping;
      }
    }
    default:
      return null;
  }
}

/**
 * A second step's request for `status`: a pending sign-in of `w`'s user (a browser's
 * cookie, or a bearer client's `pending_token`), then the code, a wrong one, or wrong ones
 * until the account's limit; the rest as for any route.
 */
async function secondStep(
  operationId: string,
  status: string,
  w: World,
  { method, target, body }: { method: "GET"; target: string; body: object },
): Promise<LightMyRequestResponse | null> {
  const client = h.client({ ip: freshIp() });
  const pending = async (): Promise<object> => {
    if (operationId === "loginSecondFactor") {
      await client.post("/auth/login", { username: w.username, password: PASSWORD });
      return {};
    }
    const answer = await client.request({
      method: "POST",
      url: "/auth/token",
      body: { username: w.username, password: PASSWORD },
      cookies: false,
    });
    return { pending_token: answer.json().pending_token };
  };
  const wrong = { code: "000000" };
  switch (status) {
    case "200":
      return client.request({ method, url: target, body: { ...body, ...(await pending()) } });
    case "401":
      return client.request({ method, url: target, body: { ...(await pending()), ...wrong } });
    case "429": {
      let last: LightMyRequestResponse | undefined;
      for (let i = 0; i < 12 && last?.statusCode !== 429; i++) {
        last = await client.request({ method, url: target, body: { ...(await pending()), ...wrong } });
      }
      return last ?? null;
    }
    case "400":
      return client.request({ method, url: target, body: [] });
    case "403":
      return client.request({ method, url: target, body, headers: { origin: "https://evil.example" } });
    case "413":
      return client.request({ method, url: target, body: { padding: "x".repeat(70_000) } });
    case "415":
      return client.request({ method, url: target, body: "a=b", headers: { "content-type": "text/plain" } });
    default:
      return null;
  }
}

/** A raw request with a header larger than Node accepts: the 431 comes from the HTTP parser. */
let listening: Promise<string> | undefined;
async function oversizedHeader(path: string): Promise<{ status: number; body: string }> {
  listening ??= h.app.listen({ port: 0, host: "127.0.0.1" });
  await listening;
  const address = h.app.server.address() as { port: number };
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: "127.0.0.1", port: address.port, path, headers: { "x-padding": "x".repeat(20_000) } },
      (response) => {
        let body = "";
        response.on("data", (chunk) => {
          body += chunk;
        });
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on("error", reject);
    request.end();
  });
}

describe("every documented answer", () => {
  it("is what the route answers, status and shape, for one request of each kind", async () => {
    const checked: string[] = [];
    const failures: string[] = [];
    for (const op of operations()) {
      for (const [status, response] of Object.entries(op.operation.responses)) {
        const key = `${op.method} ${op.path} ${status}`;
        let got: { status: number; body: string } | null;
        if (status === "431") got = await oversizedHeader(op.path);
        else {
          const answer = await elicit(op, status);
          got = answer && { status: answer.statusCode, body: answer.body };
        }
        if (!got) {
          failures.push(`${key}: no request for it`);
          continue;
        }
        if (String(got.status) !== status) {
          failures.push(`${key}: answered ${got.status} ${got.body.slice(0, 200)}`);
          continue;
        }
        const schema = response.content?.["application/json"]?.schema;
        if (schema) {
          const validate = ajv.compile(
            JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"doc#/components/')),
          );
          if (!validate(JSON.parse(got.body))) failures.push(`${key}: ${ajv.errorsText(validate.errors)}`);
        } else if (got.body !== "") failures.push(`${key}: a body where none is documented`);
        checked.push(key);
      }
    }
    expect(failures).toEqual([]);
    expect(checked.length).toBeGreaterThan(90);
  }, 120_000);

  it("secured operations refuse a request with no credential, and a cookie write without the CSRF header", async () => {
    for (const op of operations()) {
      const requirements = op.operation.security ?? [];
      if (requirements.length === 0 || requirements.some((r) => Object.keys(r).length === 0)) continue;
      // A service's operation: no credential, or a user's, is refused.
      if (requirements.some((r) => "serviceBasic" in r)) {
        const w = await world();
        const body = validBody(op.operation.operationId, w);
        const asUser = await w.browser.bearer(op.method as "POST", op.path, w.access, body);
        expect([op.operation.operationId, asUser.statusCode]).toEqual([op.operation.operationId, 401]);
        continue;
      }
      const { operationId } = op.operation;
      const w = await world({
        target: actsOnUser(op.path),
        totp: totpFor(operationId, "200"),
        passkeys: passkeysFor(operationId, "200"),
      });
      const body = PASSKEY_OPERATIONS.has(operationId)
        ? await passkeyBody(operationId, "200", w)
        : validBody(operationId, w);
      const none = await w.browser.request({
        method: op.method as "GET",
        url: url(op.path, w),
        body,
        cookies: false,
        csrf: false,
      });
      expect([op.operation.operationId, none.statusCode]).toEqual([op.operation.operationId, 401]);
      if (requirements.some((r) => "csrfHeader" in r)) {
        const noCsrf = await w.browser.request({
          method: op.method as "POST",
          url: url(op.path, w),
          body,
          csrf: false,
        });
        expect([op.operation.operationId, noCsrf.json().error.code]).toEqual([op.operation.operationId, "csrf_failed"]);
      }
      if (requirements.some((r) => "bearerToken" in r)) {
        // A registration answers the challenge of the session that asked for it: here, the token's.
        const bearerBody = operationId === "registerPasskey" ? await registration(w, { bearer: true }) : body;
        const bearer = await w.browser.bearer(op.method as "GET", url(op.path, w), w.access, bearerBody);
        expect([op.operation.operationId, bearer.statusCode < 300]).toEqual([op.operation.operationId, true]);
      }
    }
  }, 120_000);
});
