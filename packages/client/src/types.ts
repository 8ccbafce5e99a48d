/**
 * What the client tells its caller: the session, its changes, and the client's methods.
 */

/**
 * The signed-in user and their session, as latchkey described them.
 * `accessExpiresAt` is on this page's clock (worked out from the server's relative
 * `expires_in`, so a skewed clock does not matter); `null` under the `session` strategy,
 * whose cookie has no short-lived access token to refresh.
 *
 * @example
 * const info: SessionInfo | null = await client.session();
 * if (info?.user.roles.includes("admin")) showAdminMenu();
 */
export interface SessionInfo {
  user: { id: string; username: string; roles: string[] };
  sessionId: string;
  strategy: "session" | "jwt" | "hybrid" | "memory";
  accessExpiresAt: number | null;
}

/**
 * A change of the session, in this tab or in another one (`fromOtherTab`). `reason` is
 * `"signed_in"`, `"refreshed"`, `"signed_out"`, `"signed_out_everywhere"`, or, when latchkey
 * ended the session itself (a refresh refused, a `401` under the `session` strategy), the
 * code it answered: `"unauthenticated"`, `"invalid_grant"`, `"invalid_token"`,
 * `"account_disabled"`... and then `message`, the words latchkey answered with it.
 *
 * @example
 * client.onChange(({ session, reason, message }) => {
 *   if (!session && reason !== "signed_out") showNotice(message ?? "Your session has ended: sign in again.");
 * });
 */
export interface Change {
  session: SessionInfo | null;
  reason: string;
  fromOtherTab: boolean;
  /**
   * Only for a sign-out latchkey forced: the message of its refusal, meant for a person
   * (absent when the answer had none). It tells apart endings that share a code: a session
   * ended because its cookie was used from two places answers the plain `unauthenticated`,
   * with latchkey's `SESSION_REUSE_MESSAGE`. Show it, or compare it with a message you
   * know; branch on `reason` otherwise.
   */
  message?: string;
  /**
   * Only for a sign-out latchkey forced, when it said why (its `Latchkey-Session-Ended`
   * header): `"session_revoked"` (ended from another device or by an admin),
   * `"signed_out_everywhere"`, `"signed_out"`, `"password_changed"`, `"account_disabled"`,
   * `"account_deleted"`, `"session_expired"` (an idle or absolute timeout),
   * `"session_reuse_detected"`, `"refresh_reuse_detected"`, `"session_limit_reached"`,
   * `"password_reset"` (from a mailed link), `"email_change_reverted"` (the old address
   * undid an email change). Branch on it to tell the person why they are signing in again.
   */
  ended?: string;
}

/**
 * A recent sign-in, as `client.reauthenticate` resolves it: `authTime` on latchkey's
 * clock (ISO 8601), `recentUntil` on this page's (worked out from the relative window, as
 * `accessExpiresAt` is), after which sensitive actions answer `reauthentication_required`
 * again; `amr`: how the person proved who they are (`["pwd"]`).
 *
 * @example
 * const { recentUntil } = await client.reauthenticate(password);
 * setTimeout(() => showNotice("Confirm your password again for admin actions."), recentUntil - Date.now());
 */
export interface Reauthentication {
  authTime: string;
  amr: string[];
  recentUntil: number;
}

/**
 * A passkey's answer to a challenge: what `navigator.credentials.get` gives, as JSON
 * (`PublicKeyCredential.toJSON()`, or `@simplewebauthn/browser`'s `startAuthentication`).
 * @example
 * const options = await client.passkeyOptions();
 * const credential = await navigator.credentials.get({
 *   publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options as never),
 * });
 * const answer = (credential as PublicKeyCredential).toJSON() as PasskeyAnswer;
 */
export type PasskeyAnswer = Record<string, unknown> & { id: string; type: "public-key" };

/**
 * What a second step offers: a code from the authenticator app, a recovery code, or a
 * passkey's answer to a challenge from `client.passkeyOptions()`.
 * @example
 * await client.completeSignIn({ code: "492039" });
 * await client.completeSignIn({ recoveryCode: "7k3m-q9x2-hd4w-p8ne" });
 */
export type SecondFactorProof = { code: string } | { recoveryCode: string } | { passkey: PasskeyAnswer };

/**
 * A browser app's handle on latchkey; {@link createClient} makes one. Calls that latchkey
 * refuses reject with a `LatchkeyError`; a network failure rejects with `fetch`'s `TypeError`.
 *
 * @example
 * const client = createClient({ mode: "memory" });
 * const me = (await client.session()) ?? (await client.signIn("alice", password));
 * const todos = await (await client.fetch("/api/todos")).json();
 */
export interface LatchkeyClient {
  /**
   * Signs in (`POST /auth/login`), tells the other tabs, and resolves with the session.
   * `remember` asks for a persistent session. For an account with a second factor it
   * rejects with `SecondFactorRequired`: finish with `completeSignIn`.
   */
  signIn(username: string, password: string, options?: { remember?: boolean }): Promise<SessionInfo>;
  /**
   * The second step of a sign-in that rejected with `SecondFactorRequired`
   * (`POST /auth/login/second-factor`): a code from the authenticator app, or a recovery
   * code. Resolves with the session as `signIn` does. Rejects with `invalid_code` (try
   * again), `sign_in_expired` (too late, used, or five wrong codes: sign in again with the
   * password) or `rate_limited`.
   */
  completeSignIn(proof: SecondFactorProof): Promise<SessionInfo>;
  /**
   * A passkey challenge for this browser (`POST /auth/passkey/options`): the options for
   * `navigator.credentials.get`, as JSON. Its answer goes to `signInWithPasskey`,
   * `completeSignIn({ passkey })` or `reauthenticateWithPasskey`, once, within five minutes.
   */
  passkeyOptions(): Promise<Record<string, unknown>>;
  /**
   * Signs in with a passkey alone (`POST /auth/login/passkey`): its answer to
   * `passkeyOptions()`'s challenge. Resolves and tells the other tabs as `signIn` does;
   * rejects with `invalid_passkey` when it does not verify.
   */
  signInWithPasskey(answer: PasskeyAnswer, options?: { remember?: boolean }): Promise<SessionInfo>;
  /** Signs out (`POST /auth/logout`): this tab and the others are signed out whatever latchkey answers. */
  signOut(): Promise<void>;
  /** Ends every session of the user, on every device (`POST /auth/logout-all`). */
  signOutEverywhere(): Promise<void>;
  /**
   * Confirms the password again (`POST /auth/reauthenticate`) after a call answered
   * `403 reauthentication_required`: the session counts as a recent sign-in for latchkey's
   * `reauthWindow`, and its access token (or cookie) is renewed with the new `auth_time`.
   * A wrong password rejects with `invalid_credentials` and leaves the session as it was.
   * An account with a second factor needs `proof` too (else `invalid_code`).
   */
  reauthenticate(password: string, proof?: SecondFactorProof): Promise<Reauthentication>;
  /**
   * Re-authenticates with a passkey alone (`POST /auth/reauthenticate {passkey}`): its
   * answer to `passkeyOptions()`'s challenge. As `reauthenticate` otherwise.
   */
  reauthenticateWithPasskey(answer: PasskeyAnswer): Promise<Reauthentication>;
  /**
   * `fetch`, with the credentials of the session for a URL on an allowed origin (the page's,
   * `baseUrl`'s, `apiOrigins`): cookies and the CSRF header, or the bearer token. An expired
   * access token is refreshed and the request sent once more. Any other URL goes out untouched.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** The session, or `null` when signed out: loaded once, then kept up to date; concurrent callers share one request. */
  session(): Promise<SessionInfo | null>;
  /** Calls `listener` on every change of the session; returns the function that stops it. */
  onChange(listener: (change: Change) => void): () => void;
  /** Stops the refresh timer and leaves the other tabs' channel; the client is not used after. */
  close(): void;
}
