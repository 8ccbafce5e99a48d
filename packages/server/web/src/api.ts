/**
 * The web app's API client. The session is `@latchkey/client`'s, in cookie mode (the app
 * is served from latchkey's own origin): the session, access and refresh tokens live only
 * in HttpOnly cookies the browser manages, the CSRF token in the client's memory, and
 * nothing auth-related in storage. The client refreshes a `jwt` access cookie before it
 * expires, once for every tab of the origin (a Web Lock), and tells every tab of a sign-in
 * or sign-out (a BroadcastChannel), a forced one too, with latchkey's reason (`ended`).
 *
 * The typed calls go through `openapi-fetch`, whose `fetch` is the client's: every call
 * carries the CSRF header it needs, and under `jwt` one refused for an expired access
 * cookie is retried once after a refresh.
 */

import {
  type PasskeyAnswer as ClientPasskeyAnswer,
  createClient as createLatchkeyClient,
  LatchkeyError,
  type SecondFactorProof,
  SecondFactorRequired,
} from "@latchkey/client";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/openapi";
import { loggingFetch } from "./traffic.js";

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
export type Factors = Json<"/auth/factors", "get">;

/**
 * A code from the authenticator app, or a recovery code, as `latchkey.completeSignIn` and
 * `latchkey.reauthenticate` take it.
 *
 * @example
 * const proof: SecondFactorProof = { code: "492039" };
 */
export type { SecondFactorProof };
/**
 * Every refusal of the API, the client's and the typed calls' alike: `status`, the
 * contract's stable `code`, the server's message, and `retryAfter` (seconds) for a `429`.
 *
 * @example
 * const text = error instanceof LatchkeyError ? error.message : "The server could not be reached.";
 */
/**
 * A sign-in whose password was right for an account with a second factor: the page asks
 * for a code and finishes with `latchkey.completeSignIn`. `methods` and `expiresIn` are
 * the server's.
 *
 * @example
 * catch (error) { if (error instanceof SecondFactorRequired) showCodeStep(error.methods); }
 */
export { LatchkeyError, SecondFactorRequired };

/**
 * The app's one latchkey client: sign-in and sign-out, the session and its changes.
 *
 * @example
 * latchkey.onChange(({ session }) => session || showSignIn());
 * await latchkey.signIn("alice", password, { remember: true });
 */
// Its `fetch` records each request for the "How it works" page's live log (traffic.ts).
export const latchkey = createLatchkeyClient({ fetch: loggingFetch });

/** What `navigator.credentials.get` answered, as JSON (`@simplewebauthn/browser`'s `startAuthentication`). */
export type PasskeyAnswer = Extract<
  NonNullable<paths["/auth/login/second-factor"]["post"]["requestBody"]>["content"]["application/json"],
  { passkey: unknown }
>["passkey"];

/**
 * Signs in with a passkey alone (`POST /auth/login/passkey`), as `latchkey.signIn` does with
 * a password: the same `remember` and mode, the same answer, the other tabs told.
 *
 * @example
 * await signInWithPasskey(await askPasskey(), { remember: true });
 */
export function signInWithPasskey(response: PasskeyAnswer, options: { remember: boolean }) {
  return latchkey.signInWithPasskey(response as ClientPasskeyAnswer, options);
}

/**
 * The second step of a password sign-in with a passkey (`POST /auth/login/second-factor`).
 *
 * @example
 * await completeSignInWithPasskey(await askPasskey());
 */
export function completeSignInWithPasskey(response: PasskeyAnswer) {
  return latchkey.completeSignIn({ passkey: response as ClientPasskeyAnswer });
}

/**
 * A recent sign-in made with a passkey alone (`POST /auth/reauthenticate`).
 *
 * @example
 * await reauthenticateWithPasskey(await askPasskey());
 */
export function reauthenticateWithPasskey(response: PasskeyAnswer) {
  return latchkey.reauthenticateWithPasskey(response as ClientPasskeyAnswer);
}

/**
 * The typed API client, over the latchkey client's `fetch`.
 *
 * @example
 * const { todos } = await call(client.GET("/api/todos"));
 * await call(client.DELETE("/auth/sessions/{id}", { params: { path: { id } } }));
 */
export const client = createClient<paths>({ baseUrl: "", fetch: (request) => latchkey.fetch(request) });

/**
 * Why latchkey ended a session, as its 401 says in the `Latchkey-Session-Ended` header
 * (and `@latchkey/client`'s `Change.ended` on a forced sign-out): a stable code, never
 * read from the message. docs/web-app.md says what the sign-in page shows for each.
 */
export const SESSION_END_REASONS = [
  "session_revoked",
  "signed_out_everywhere",
  "signed_out",
  "password_changed",
  "account_deleted",
  "account_disabled",
  "session_expired",
  "session_reuse_detected",
  "refresh_reuse_detected",
  "session_limit_reached",
  "password_reset",
  "email_change_reverted",
] as const;
export type SessionEnd = (typeof SESSION_END_REASONS)[number];

/**
 * Why the sign-in page is shown: a reason the server gave, or the end of the person's own
 * "sign out everywhere" or account deletion in this browser (a confirmation); `null` for none.
 */
export type SignedOutReason = SessionEnd | "you_signed_out_everywhere" | "you_deleted_account" | null;

/**
 * The reason in a `Latchkey-Session-Ended` header (or `Change.ended`), `null` for none or
 * for a value this app does not know (a newer server's: the page then says nothing wrong).
 *
 * @example
 * endedOf(response.headers.get("latchkey-session-ended")); // "password_changed"
 */
export function endedOf(value: string | null | undefined): SessionEnd | null {
  return (SESSION_END_REASONS as readonly string[]).includes(value ?? "") ? (value as SessionEnd) : null;
}

/**
 * A refusal of a typed call: the client's `LatchkeyError` and, for a 401 that ended the
 * session, `ended`, the reason the server gave.
 *
 * @example
 * if (error instanceof ApiError && error.ended === "password_changed") showNotice();
 */
export class ApiError extends LatchkeyError {
  constructor(
    status: number,
    code: string,
    message: string,
    retryAfter: number | null,
    readonly ended: SessionEnd | null,
  ) {
    super(status, code, message, retryAfter);
  }
}

/**
 * Why a refusal signed the person out: the `ended` an `ApiError` carries, else `null`.
 *
 * @example
 * catch (error) { if (reasonOf(error)) signedOut(reasonOf(error)); }
 */
export function reasonOf(error: unknown): SessionEnd | null {
  return error instanceof ApiError ? error.ended : null;
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
  // Asked even when signed out: a 401's `Latchkey-Session-Ended` header is the only place
  // that says why a session the page held has ended.
  try {
    return { me: await call(client.GET("/auth/me")), reason: null };
  } catch (error) {
    if (!(error instanceof LatchkeyError) || error.status !== 401) throw error;
    return { me: null, reason: reasonOf(error) };
  }
}

/**
 * The data of a typed call, or its `ApiError` (the contract's code and message,
 * `Retry-After`, and `Latchkey-Session-Ended`).
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
      retry && /^\d+$/.test(retry) ? Number(retry) : null,
      endedOf(response.headers.get("latchkey-session-ended")),
    );
  }
  return data as Data;
}
