/**
 * Helpers for the HTTP tests of issue 31 (email, verification, password reset): a harness
 * that mails through a real test SMTP server, a user signed up with an address, an API
 * client's bearer request, and the check that no link token reached the log.
 *
 * @example
 * describe("email", () => {
 *   let smtp: TestSmtp;
 *   let h: Harness;
 *   useMailing((started) => ({ smtp, h } = started), { REQUIRE_VERIFIED_EMAIL: "true" });
 *   it("mails a verification link", async () => {
 *     const { verifyMail } = await signedUp(h, smtp);
 *     expect(linkIn(verifyMail, "/verify-email")).toBeTruthy();
 *   });
 * });
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { type Harness, PASSWORD, startHarness, uniqueName } from "./harness.js";
import { startSmtp, type TestSmtp } from "./smtp.js";

/** A server that mails through its own test SMTP server. */
export interface Mailing {
  smtp: TestSmtp;
  h: Harness;
}

/**
 * Before the suite, starts a test SMTP server and a harness mailing through it (its outbox,
 * unused with SMTP, in a temporary folder) and hands both to `use`; after it, closes them.
 * `env` adds to or overrides the harness's settings.
 *
 * @example
 * let h: Harness;
 * useMailing((started) => ({ h } = started), { MAIL_ACCOUNT_MAX: "2" });
 */
export function useMailing(use: (mailing: Mailing) => void, env: Record<string, string> = {}): void {
  let smtp: TestSmtp | undefined;
  let outbox: string | undefined;
  let h: Harness | undefined;
  beforeAll(async () => {
    smtp = await startSmtp();
    outbox = await mkdtemp(join(tmpdir(), "latchkey-outbox-"));
    h = await startHarness({
      SMTP_URL: smtp.url,
      MAIL_OUTBOX: outbox,
      // One client address sends every request of a file; the limits have their own tests.
      MAIL_ADDRESS_MAX: "100000",
      MAIL_ACCOUNT_MAX: "1000",
      ...env,
    });
    use({ smtp, h });
  });
  afterAll(async () => {
    await h?.close();
    await smtp?.close();
    if (outbox) await rm(outbox, { recursive: true, force: true });
  });
}

/**
 * A new user with an address, signed in; its verification mail taken from the SMTP server.
 * `name` defaults to a unique `mail…`, `email` (as typed: it is returned trimmed and in
 * lower case) to a unique `m…@example.com`.
 *
 * @example
 * const { name, email, c, userId, verifyMail } = await signedUp(h, smtp);
 */
export async function signedUp(
  h: Harness,
  smtp: TestSmtp,
  { name = uniqueName("mail"), email: typed = `${uniqueName("m")}@example.com` } = {},
) {
  const c = h.client();
  const registered = await c.post("/auth/register", { username: name, password: PASSWORD, email: typed });
  expect(registered.statusCode, registered.body).toBe(201);
  const email = typed.trim().toLowerCase();
  const verifyMail = await smtp.next(email);
  const login = await c.login(name);
  expect(login.statusCode, login.body).toBe(200);
  return { name, email, c, userId: login.json().user.id as string, verifyMail };
}

/**
 * An API client's `POST`: no cookie, no `Origin`, no CSRF token; a bearer token when given.
 *
 * @example
 * const response = await api(h, "/auth/email/verify", { token }, accessToken);
 */
export function api(h: Harness, url: string, body: unknown, accessToken?: string) {
  return h.app.inject({
    method: "POST",
    url,
    payload: JSON.stringify(body),
    headers: {
      "content-type": "application/json",
      "user-agent": "api-client/1.0",
      ...(accessToken && { authorization: `Bearer ${accessToken}` }),
    },
    remoteAddress: "127.0.0.1",
  });
}

/**
 * Fails the test if any log line holds one of the `id.secret` link `tokens` or its secret.
 *
 * @example
 * expectNoTokenInLogs(h, verifyToken, resetToken);
 */
export function expectNoTokenInLogs(h: Harness, ...tokens: string[]): void {
  for (const token of tokens) {
    const secret = token.split(".")[1] as string;
    expect(h.logs.filter((line) => line.includes(secret) || line.includes(token))).toEqual([]);
  }
}
