/**
 * The web app's API client. The session is `@latchkey/client`'s, in cookie mode (the app
 * is served from latchkey's own origin): the session, access and refresh tokens live only
 * in HttpOnly cookies the browser manages, the CSRF token in the client's memory, and
 * nothing auth-related in storage. The client refreshes a `jwt` access cookie before it
 * expires, once for every tab of the origin (a Web Lock), and tells every tab of a sign-in
 * or sign-out (a BroadcastChannel), a forced one too, with latchkey's message.
 *
 * The typed calls go through `openapi-fetch`, whose `fetch` is the client's: every call
 * carries the CSRF header it needs, and under `jwt` one refused for an expired access
 * cookie is retried once after a refresh.
 */

import { createClient as createLatchkeyClient, LatchkeyError } from "@latchkey/client";
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

/**
 * Every refusal of the API, the client's and the typed calls' alike: `status`, the
 * contract's stable `code`, the server's message, and `retryAfter` (seconds) for a `429`.
 *
 * @example
 * const text = error instanceof LatchkeyError ? error.message : "The server could not be reached.";
 */
export { LatchkeyError };

/**
 * The app's one latchkey client: sign-in and sign-out, the session and its changes.
 *
 * @example
 * latchkey.onChange(({ session }) => session || showSignIn());
 * await latchkey.signIn("alice", password, { remember: true });
 */
export const latchkey = createLatchkeyClient();

/**
 * The typed API client, over the latchkey client's `fetch`.
 *
 * @example
 * const { todos } = await call(client.GET("/api/todos"));
 * await call(client.DELETE("/auth/sessions/{id}", { params: { path: { id } } }));
 */
export const client = createClient<paths>({ baseUrl: "", fetch: (request) => latchkey.fetch(request) });

/**
 * The message of the 401 that ends a session whose cookie was used from two places (the
 * library's `SESSION_REUSE_MESSAGE`; test/e2e/session-renewal.test.ts holds the two equal).
 * The code is the plain `unauthenticated`: the message is what tells this case apart.
 */
export const SESSION_REUSE_MESSAGE =
  "This session was ended: its cookie was used from two places (a copy of it, or a browser that missed its renewal). Sign in again, and check your devices.";

/** Why the user was signed out: `reuse` when the server ended the session as copied. */
export type SignedOutReason = "reuse" | null;

/**
 * Why latchkey ended a session, from the message of its 401 (a forced sign-out's
 * `Change.message`, or the answer to a request).
 *
 * @example
 * latchkey.onChange(({ session, message }) => session || signedOut(reasonOf(message)));
 */
export function reasonOf(message: string | undefined): SignedOutReason {
  return message === SESSION_REUSE_MESSAGE ? "reuse" : null;
}

/**
 * The signed-in user as `GET /auth/me` describes them (with the permissions the menus
 * need), or `null` and why when signed out. The client loads its session first: it keeps
 * the CSRF token from it, and under `jwt` renews an access cookie that expired while the
 * page was closed. Rejects when the server cannot be reached.
 *
 * @example
 * const { me, reason } = await currentUser();
 */
export async function currentUser(): Promise<{ me: Me | null; reason: SignedOutReason }> {
  await latchkey.session();
  // Asked even when signed out: a 401's message is the only place that says why.
  try {
    return { me: await call(client.GET("/auth/me")), reason: null };
  } catch (error) {
    if (!(error instanceof LatchkeyError) || error.status !== 401) throw error;
    return { me: null, reason: reasonOf(error.message) };
  }
}

/**
 * The data of a typed call, or its `LatchkeyError` (the contract's code and message, and
 * `Retry-After`).
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
    throw new LatchkeyError(
      response.status,
      body.error?.code ?? "unknown",
      body.error?.message ?? `The server answered ${response.status}.`,
      retry && /^\d+$/.test(retry) ? Number(retry) : null,
    );
  }
  return data as Data;
}
