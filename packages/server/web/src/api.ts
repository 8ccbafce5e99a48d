/**
 * The HTTP client of the web app. Credentials live only in cookies the browser manages
 * (HttpOnly: scripts never see the session, access or refresh token); the CSRF token is
 * kept in memory and read back from the readable csrf cookie after a reload. Nothing
 * auth-related goes to localStorage.
 *
 * Under the `jwt` strategy an expired access cookie is renewed transparently: the first
 * 401 takes a Web Lock shared by every tab of this origin, so two tabs never spend one
 * refresh token at once; a tab that waited for the lock finds fresh cookies and retries.
 */

import createClient from "openapi-fetch";
import type { components, paths } from "./generated/openapi";

// The API's types come from the server's OpenAPI document (scripts/openapi.mjs generates
// ./generated/openapi.d.ts before every build and type check): a schema change that breaks
// the app breaks the build.
type Json<Path extends keyof paths, Method extends keyof paths[Path]> = paths[Path][Method] extends {
  responses: { 200: { content: { "application/json": infer Body } } };
}
  ? Body
  : never;

export type User = components["schemas"]["User"];
export type Session = components["schemas"]["Session"];
export type Todo = components["schemas"]["Todo"];
export type SecurityEvent = components["schemas"]["Event"];
export type AdminUser = components["schemas"]["AdminUser"];
export type AuditEvent = components["schemas"]["AuditEvent"];
export type Roles = Json<"/admin/roles", "get">;
export type TodoStats = Json<"/api/todos/stats", "get">;
export type Policy = Json<"/auth/info", "get">;
export type Me = Json<"/auth/me", "get">;
export type TokenView = Json<"/auth/access-token", "get">;

/** An error answer of the API, with its stable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
let strategy: Policy["strategy"] = "session";

/**
 * The message of the 401 that ends a session whose cookie was used from two places (the
 * library's `SESSION_REUSE_MESSAGE`; test/e2e/session-renewal.test.ts holds the two equal).
 * The code is the plain `unauthenticated`: the message is what tells this case apart.
 */
export const SESSION_REUSE_MESSAGE =
  "This session was ended: its cookie was used from two places (a copy of it, or a browser that missed its renewal). Sign in again, and check your devices.";

/** Why the user was signed out: `reuse` when the server ended the session as copied. */
export type SignedOutReason = "reuse" | null;

/** Told when the user turns out to be signed out (a 401 that renewal cannot fix). */
let onSignedOut: (reason: SignedOutReason) => void = () => {};

export function configure(options: {
  strategy: Policy["strategy"];
  onSignedOut: (reason: SignedOutReason) => void;
}): void {
  strategy = options.strategy;
  onSignedOut = options.onSignedOut;
}

export function rememberCsrf(token: string | undefined | null): void {
  if (token) csrfToken = token;
}

function csrfFromCookie(): string | null {
  for (const part of document.cookie.split(";")) {
    const [name, value] = part.trim().split("=");
    if ((name === "__Host-csrf" || name === "csrf") && value) return decodeURIComponent(value);
  }
  return null;
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);
// Routes that never renew: they sign in or out, or are the renewal itself.
const NO_RENEW = ["/auth/login", "/auth/register", "/auth/refresh", "/auth/logout"];

/**
 * The message of a 401 that means "no valid credential" (renewable), not "wrong
 * password"; `null` for any other answer.
 */
async function unauthenticated(response: Response): Promise<string | null> {
  if (response.status !== 401) return null;
  const body = (await response
    .clone()
    .json()
    .catch(() => ({}))) as { error?: { code?: string; message?: string } };
  const code = body.error?.code;
  return code === "unauthenticated" || code === "invalid_token" ? (body.error?.message ?? "") : null;
}

/** Sends a request with the CSRF header an unsafe cookie request needs. */
function send(request: Request): Promise<Response> {
  const headers = new Headers(request.headers);
  headers.set("accept", "application/json");
  if (UNSAFE.has(request.method)) {
    const token = csrfToken ?? csrfFromCookie();
    if (token) headers.set("x-csrf-token", token);
  }
  return fetch(new Request(request, { headers, credentials: "same-origin" }));
}

/**
 * The fetch of the API client: under the `jwt` strategy a 401 for a missing or expired
 * access cookie renews it once (for every tab) and retries; a 401 that renewal cannot fix
 * means the user is signed out, and the reuse message says the server ended the session
 * because its cookie was used from two places.
 */
async function renewingFetch(request: Request): Promise<Response> {
  const path = new URL(request.url).pathname;
  const retry = request.clone();
  let response = await send(request);
  if (!NO_RENEW.includes(path) && (await unauthenticated(response)) !== null) {
    if (strategy === "jwt" && (await renewAccess())) response = await send(retry);
    const message = await unauthenticated(response);
    if (message !== null) onSignedOut(message === SESSION_REUSE_MESSAGE ? "reuse" : null);
  }
  return response;
}

/** The typed API client: `client.GET("/auth/me")`, `client.POST("/api/todos", { body })`. */
export const client = createClient<paths>({ baseUrl: "", fetch: renewingFetch });

/** Renews the access cookie once for every tab (jwt strategy). `true` when signed in. */
export async function renewAccess(): Promise<boolean> {
  const run = async () => {
    // Another tab may have refreshed while this one waited for the lock.
    const probe = await send(new Request("/auth/me", { method: "GET" }));
    if (probe.ok) {
      rememberCsrf(((await probe.json()) as Me).csrfToken);
      return true;
    }
    const refreshed = await send(new Request("/auth/refresh", { method: "POST" }));
    return refreshed.ok;
  };
  if ("locks" in navigator) return navigator.locks.request("latchkey-refresh", run);
  return run();
}

/**
 * The data of a typed call, or its `ApiError` (the contract's code and message, and
 * `Retry-After`); remembers a CSRF token the answer carries.
 *
 * @example
 * const { todos } = await call(client.GET("/api/todos"));
 */
export async function call<Data>(
  pending: Promise<{ data?: Data; error?: unknown; response: Response }>,
): Promise<Data> {
  const { data, error, response } = await pending;
  if (!response.ok) {
    const body = (error ?? {}) as { error?: { code?: string; message?: string } };
    const retry = response.headers.get("retry-after");
    throw new ApiError(
      response.status,
      body.error?.code ?? "unknown",
      body.error?.message ?? `The server answered ${response.status}.`,
      retry ? Number(retry) : null,
    );
  }
  if (data && typeof data === "object" && "csrfToken" in data && typeof data.csrfToken === "string") {
    rememberCsrf(data.csrfToken);
  }
  return data as Data;
}

/** Tells the other tabs of this origin that the user signed in or out. */
export const tabs = "BroadcastChannel" in window ? new BroadcastChannel("latchkey") : null;
