/**
 * docs/tokens.md, "Revocation": under `REVOCATION=expiry` an ended session's access token
 * lives until `exp` on routes that trust the token alone, but every route that acts on the
 * account or its sessions loads the session and refuses it at once. Under `jwt` and
 * `hybrid` (the access cookie) and for a bearer client, after logout, each such route
 * answers 401 to the old access token and touches nothing: the user's other session lives.
 */
import type { LightMyRequestResponse } from "fastify";
import { describe, expect, it } from "vitest";
import { type Client, type Harness, PASSWORD, startHarness, uniqueName } from "../helpers/harness.js";

type Mode = "jwt" | "hybrid" | "bearer";
const ACCESS_COOKIE = "__Host-at";

/** Sends a request with only the ended session's access token (as a cookie or a bearer header). */
type OldCredential = (
  method: "GET" | "POST" | "DELETE",
  url: string,
  body?: unknown,
) => Promise<LightMyRequestResponse>;

/** Signs `username` in the way of `mode`, logs out, and returns the access token it had. */
async function endedSessionCredential(h: Harness, mode: Mode, username: string): Promise<OldCredential> {
  const old = h.client();
  if (mode === "bearer") {
    const issued = await old.token(username);
    expect(issued.statusCode).toBe(200);
    const accessToken: string = issued.json().access_token;
    expect((await old.bearer("POST", "/auth/logout", accessToken)).statusCode).toBe(204);
    return (method, url, body) => old.bearer(method, url, accessToken, body);
  }
  expect((await old.login(username)).statusCode).toBe(200);
  const access = old.cookies.get(ACCESS_COOKIE);
  const csrf = old.csrfToken;
  expect(access).toBeTruthy();
  expect((await old.post("/auth/logout")).statusCode).toBe(204);
  // Only the access cookie (and the CSRF header it was issued with): no session or refresh
  // cookie that hybrid or jwt could renew from, so the signed token alone is presented.
  return (method, url, body) =>
    old.request({
      method,
      url,
      body,
      cookies: false,
      headers: { cookie: `${ACCESS_COOKIE}=${access}`, "x-csrf-token": csrf ?? "" },
    });
}

async function stillLive(other: Client): Promise<void> {
  expect((await other.get("/auth/me")).statusCode).toBe(200);
}

describe.each<Mode>(["jwt", "hybrid", "bearer"])("REVOCATION=expiry, %s", (mode) => {
  it("every route that acts on the account or its sessions refuses an ended session's access token at once", async () => {
    const h = await startHarness({ REVOCATION: "expiry", ...(mode !== "bearer" && { AUTH_STRATEGY: mode }) });
    try {
      const username = uniqueName("expiry");
      const other = h.client();
      const { session } = await other.signUpAndLogIn(username);
      const old = await endedSessionCredential(h, mode, username);
      const refused = mode === "bearer" ? "invalid_token" : "unauthenticated";

      const attempts: Array<[method: "GET" | "POST" | "DELETE", url: string, body?: unknown]> = [
        ["GET", "/auth/sessions"],
        ["GET", "/auth/events"],
        ["DELETE", `/auth/sessions/${session.id}`],
        ["POST", "/auth/logout-others"],
        ["POST", "/auth/logout-all"],
        ["POST", "/auth/password", { currentPassword: PASSWORD, newPassword: "a whole new passphrase 42" }],
        ["DELETE", "/auth/account", { password: PASSWORD }],
      ];
      for (const [method, url, body] of attempts) {
        const response = await old(method, url, body);
        expect({ route: `${method} ${url}`, status: response.statusCode }).toEqual({
          route: `${method} ${url}`,
          status: 401,
        });
        expect(response.json().error.code).toBe(refused);
        await stillLive(other);
      }
      // Nothing changed: the password is the old one.
      expect((await h.client().login(username)).statusCode).toBe(200);
    } finally {
      await h.close();
    }
  });

  it("routes that trust the token alone still accept it until exp, as documented", async () => {
    const h = await startHarness({ REVOCATION: "expiry", ...(mode !== "bearer" && { AUTH_STRATEGY: mode }) });
    try {
      const username = uniqueName("expiry");
      await h.client().register(username);
      const old = await endedSessionCredential(h, mode, username);
      expect((await old("GET", "/api/todos")).statusCode).toBe(200);
    } finally {
      await h.close();
    }
  });
});
