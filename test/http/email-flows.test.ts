/**
 * Issue 31 over HTTP, against the real server app and a real SMTP server on 127.0.0.1:
 * every mail a user would get arrives through SMTP, is parsed as their mail client would,
 * and its link is followed. Registration with an address, its verification, the password
 * reset, the email change and its revert, and `REQUIRE_VERIFIED_EMAIL`.
 */
import type { ParsedMail } from "mailparser";
import { describe, expect, it } from "vitest";
import { hashSecret } from "../../packages/latchkey/src/core/secrets.js";
import { type Client, type Harness, OPERATOR, PASSWORD, uniqueName } from "../helpers/harness.js";
import { api, expectNoTokenInLogs, signedUp, useMailing } from "../helpers/mail.js";
import { linkIn, type TestSmtp } from "../helpers/smtp.js";

const HEADER = "latchkey-session-ended";
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;
const NEW_PASSWORD = "a brand new passphrase 42";

async function eventTypes(c: Client): Promise<string[]> {
  const response = await c.get("/auth/events");
  expect(response.statusCode, response.body).toBe(200);
  return response.json().events.map((e: { type: string }) => e.type);
}

/** The same token with one character of its secret changed: the right id, a wrong secret. */
function forged(token: string): string {
  const last = token.at(-1) === "A" ? "B" : "A";
  return `${token.slice(0, -1)}${last}`;
}

function htmlOf(mail: ParsedMail): string {
  return typeof mail.html === "string" ? mail.html : "";
}

describe("email flows through a real SMTP server", () => {
  let smtp: TestSmtp;
  let h: Harness;
  useMailing((started) => ({ smtp, h } = started));

  it("register stores the address normalised, unverified, and mails a plain verification link", async () => {
    const local = uniqueName("Mixed");
    const typed = `  ${local}@Example.COM  `;
    const normal = `${local.toLowerCase()}@example.com`;
    const { c, verifyMail } = await signedUp(h, smtp, { email: typed });
    expect((await c.get("/auth/email")).json()).toEqual({
      email: normal,
      verified: false,
      pending: null,
      required: false,
    });
    expect(verifyMail.to && "value" in verifyMail.to ? verifyMail.to.value[0]?.address : undefined).toBe(normal);
    expect(verifyMail.text).toContain("/verify-email#token=");
    const token = linkIn(verifyMail, "/verify-email");
    expect(token).toMatch(TOKEN_SHAPE);
    expect(verifyMail.text).toContain(`http://localhost:3000/verify-email#token=${token}`);
    const html = htmlOf(verifyMail);
    expect(html).toContain(`href="http://localhost:3000/verify-email#token=${token}"`);
    // No tracking: no image, no pixel, no remote resource of any kind.
    expect(html).not.toMatch(/<img|<link|<script|<iframe|url\(/i);
    expect(verifyMail.attachments).toEqual([]);

    const verified = await c.post("/auth/email/verify", { token });
    expect(verified.statusCode, verified.body).toBe(200);
    expect(verified.json()).toEqual({ email: normal });
    expect((await c.get("/auth/email")).json()).toMatchObject({ email: normal, verified: true, pending: null });
    expect(await eventTypes(c)).toContain("email_verified");

    const again = await c.post("/auth/email/verify", { token });
    expect(again.statusCode).toBe(400);
    expect(again.json().error.code).toBe("link_used");
    expectNoTokenInLogs(h, token);
  });

  it("a verification link works from a browser with no session (no cookie, no CSRF token)", async () => {
    const { verifyMail } = await signedUp(h, smtp);
    const stranger = h.client();
    const response = await stranger.post("/auth/email/verify", { token: linkIn(verifyMail, "/verify-email") });
    expect(response.statusCode, response.body).toBe(200);
  });

  it("forged, truncated, garbage and expired links are refused with link_invalid / link_expired", async () => {
    const { c, verifyMail } = await signedUp(h, smtp);
    const token = linkIn(verifyMail, "/verify-email");
    const cases: Array<[string, string]> = [
      [forged(token), "link_invalid"],
      [token.slice(0, -1), "link_invalid"],
      [token.slice(0, 30), "link_invalid"],
      [token.split(".")[0] as string, "link_invalid"],
      ["garbage", "link_invalid"],
      ["AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "link_invalid"],
    ];
    for (const [bad, code] of cases) {
      const response = await c.post("/auth/email/verify", { token: bad });
      expect(response.statusCode, bad).toBe(400);
      expect(response.json().error.code, bad).toBe(code);
      expect(response.body).not.toContain(token.split(".")[1]);
    }
    // A verification link is not a reset link, nor the other way round.
    const wrongPurpose = await c.post("/auth/password/reset", { token, newPassword: NEW_PASSWORD });
    expect(wrongPurpose.json().error.code).toBe("link_invalid");
    // The forged tries did not spend it.
    expect((await c.get("/auth/email")).json().verified).toBe(false);

    h.clock.advance(86_400 * 1000 + 1000);
    const expired = await c.post("/auth/email/verify", { token });
    expect(expired.statusCode).toBe(400);
    expect(expired.json().error.code).toBe("link_expired");
    expectNoTokenInLogs(h, token);
  });

  it("email_taken for the same address in another spelling", async () => {
    const local = uniqueName("taken");
    const first = h.client();
    const one = await first.post("/auth/register", {
      username: uniqueName("a"),
      password: PASSWORD,
      email: `${local}@Example.com`,
    });
    expect(one.statusCode, one.body).toBe(201);
    await smtp.next(`${local}@example.com`);
    const two = await h.client().post("/auth/register", {
      username: uniqueName("b"),
      password: PASSWORD,
      email: `${local.toUpperCase()}@example.COM`,
    });
    expect(two.statusCode, two.body).toBe(409);
    expect(two.json().error.code).toBe("email_taken");
  });

  it("register refuses a malformed address", async () => {
    for (const email of ["not-an-address", "a@localhost", "a b@example.com", "@example.com", "a@@example.com"]) {
      const response = await h.client().post("/auth/register", { username: uniqueName(), password: PASSWORD, email });
      expect(response.statusCode, email).toBe(400);
      expect(response.json().error.code, email).toBe("invalid_request");
    }
  });

  it("forgot -> reset: weak password keeps the link, a good one ends every session, the old password fails", async () => {
    const { name, email, c } = await signedUp(h, smtp);
    const otherDevice = h.client({ userAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1" });
    expect((await otherDevice.login(name)).statusCode).toBe(200);
    const oldCookies = c.copy();

    const forgot = await h.client().post("/auth/password/forgot", { email: email.toUpperCase() });
    expect(forgot.statusCode, forgot.body).toBe(202);
    expect(forgot.json()).toEqual({});
    const mail = await smtp.next(email);
    expect(mail.subject).toMatch(/reset/i);
    const token = linkIn(mail, "/reset-password");
    expect(token).toMatch(TOKEN_SHAPE);
    expect(htmlOf(mail)).toContain(`/reset-password#token=${token}`);
    expect(htmlOf(mail)).not.toMatch(/<img/i);

    const stranger = h.client();
    const weak = await stranger.post("/auth/password/reset", { token, newPassword: "password" });
    expect(weak.statusCode, weak.body).toBe(400);
    expect(weak.json().error.code).toBe("weak_password");

    const reset = await stranger.post("/auth/password/reset", { token, newPassword: NEW_PASSWORD });
    expect(reset.statusCode, reset.body).toBe(204);
    expect(reset.body).toBe("");

    const oldLogin = await h.client().login(name, PASSWORD);
    expect(oldLogin.statusCode).toBe(401);
    expect(oldLogin.json().error.code).toBe("invalid_credentials");
    const fresh = h.client();
    expect((await fresh.login(name, NEW_PASSWORD)).statusCode).toBe(200);

    const again = await stranger.post("/auth/password/reset", { token, newPassword: "yet another passphrase 7" });
    expect(again.statusCode).toBe(400);
    expect(again.json().error.code).toBe("link_used");

    for (const ended of [oldCookies, otherDevice]) {
      const me = await ended.get("/auth/me");
      expect(me.statusCode).toBe(401);
      expect(me.headers[HEADER]).toBe("password_reset");
    }
    const types = await eventTypes(fresh);
    expect(types).toContain("password_reset_requested");
    expect(types).toContain("password_reset");
    expect(types.indexOf("password_reset")).toBeLessThan(types.indexOf("password_reset_requested"));
    expectNoTokenInLogs(h, token);
  });

  it("a reset link expires after RESET_LINK_TTL", async () => {
    const { email, name } = await signedUp(h, smtp);
    expect((await h.client().post("/auth/password/forgot", { email })).statusCode).toBe(202);
    const token = linkIn(await smtp.next(email), "/reset-password");
    h.clock.advance(1800 * 1000 + 1000);
    const response = await h.client().post("/auth/password/reset", { token, newPassword: NEW_PASSWORD });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe("link_expired");
    expect((await h.client().login(name)).statusCode).toBe(200);
  });

  it("a newer reset link replaces the older one", async () => {
    const { email } = await signedUp(h, smtp);
    await h.client().post("/auth/password/forgot", { email });
    const first = linkIn(await smtp.next(email), "/reset-password");
    await h.client().post("/auth/password/forgot", { email });
    const second = linkIn(await smtp.next(email), "/reset-password");
    const old = await h.client().post("/auth/password/reset", { token: first, newPassword: NEW_PASSWORD });
    expect(old.statusCode).toBe(400);
    expect(old.json().error.code).toMatch(/^link_(invalid|used)$/);
    const ok = await h.client().post("/auth/password/reset", { token: second, newPassword: NEW_PASSWORD });
    expect(ok.statusCode, ok.body).toBe(204);
  });

  it("after a reset, another reset link of the account (two asked at once) no longer works", async () => {
    const { email, userId } = await signedUp(h, smtp);
    expect((await h.client().post("/auth/password/forgot", { email })).statusCode).toBe(202);
    const used = linkIn(await smtp.next(email), "/reset-password");
    // A second live link beside it, as two forgot requests racing can leave.
    const id = "RaceRaceRaceRaceRace00";
    const secret = "s".repeat(43);
    const now = h.clock.now();
    await h.stores.links.create({
      id,
      userId,
      purpose: "reset_password",
      secretHash: hashSecret(secret),
      email,
      createdAt: now,
      expiresAt: now + 1_800_000,
      usedAt: null,
    });
    const reset = await h.client().post("/auth/password/reset", { token: used, newPassword: NEW_PASSWORD });
    expect(reset.statusCode, reset.body).toBe(204);
    const other = await h
      .client()
      .post("/auth/password/reset", { token: `${id}.${secret}`, newPassword: "yet another passphrase 7" });
    expect(other.statusCode).toBe(400);
    expect(other.json().error.code).toBe("link_invalid");
    expect(
      (await h.client().post("/auth/password/reset", { token: used, newPassword: NEW_PASSWORD })).json().error.code,
    ).toBe("link_used");
  });

  it("a disabled account: forgot mails nothing, and a link issued before answers 403 account_disabled", async () => {
    const { email, name } = await signedUp(h, smtp);
    await h.client().post("/auth/password/forgot", { email });
    const token = linkIn(await smtp.next(email), "/reset-password");
    await h.server.auth.accounts.disable(name);

    const before = smtp.messages.length;
    const forgot = await h.client().post("/auth/password/forgot", { email });
    expect(forgot.statusCode).toBe(202);
    await h.server.auth.email.idle();
    await expect(smtp.next(email, 300)).rejects.toThrow(/no mail/);
    expect(smtp.messages.length).toBe(before);

    const reset = await h.client().post("/auth/password/reset", { token, newPassword: NEW_PASSWORD });
    expect(reset.statusCode, reset.body).toBe(403);
    expect(reset.json().error.code).toBe("account_disabled");
  });

  it("an unknown address: forgot answers 202 and mails nobody", async () => {
    const before = smtp.messages.length;
    const email = `${uniqueName("nobody")}@example.com`;
    const forgot = await h.client().post("/auth/password/forgot", { email });
    expect(forgot.statusCode).toBe(202);
    await h.server.auth.email.idle();
    expect(smtp.messages.length).toBe(before);
  });

  it("email change: password checked, the new address's link makes it, the old one's notice can revert it", async () => {
    const { name, email: oldEmail, c, verifyMail } = await signedUp(h, smtp);
    expect((await c.post("/auth/email/verify", { token: linkIn(verifyMail, "/verify-email") })).statusCode).toBe(200);
    const newEmail = `${uniqueName("new")}@example.org`;

    const wrong = await c.request({
      method: "PUT",
      url: "/auth/email",
      body: { email: newEmail, password: "wrong one!" },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().error.code).toBe("invalid_credentials");
    await h.server.auth.email.idle();
    await expect(smtp.next(newEmail, 200)).rejects.toThrow(/no mail/);

    const change = await c.request({
      method: "PUT",
      url: "/auth/email",
      body: { email: newEmail, password: PASSWORD },
    });
    expect(change.statusCode, change.body).toBe(202);
    expect(change.json()).toEqual({ pending: newEmail });
    await h.server.auth.email.idle();
    expect((await c.get("/auth/email")).json()).toEqual({
      email: oldEmail,
      verified: true,
      pending: newEmail,
      required: false,
    });

    const verifyNew = await smtp.next(newEmail);
    const notice = await smtp.next(oldEmail);
    expect(notice.text).toContain(newEmail);
    const revertToken = linkIn(notice, "/revert-email");
    expect(revertToken).toMatch(TOKEN_SHAPE);
    expect(htmlOf(notice)).not.toMatch(/<img/i);

    const made = await h.client().post("/auth/email/verify", { token: linkIn(verifyNew, "/verify-email") });
    expect(made.statusCode, made.body).toBe(200);
    expect(made.json()).toEqual({ email: newEmail });
    expect((await c.get("/auth/email")).json()).toMatchObject({ email: newEmail, verified: true, pending: null });
    const types = await eventTypes(c);
    expect(types).toContain("email_change_requested");
    expect(types).toContain("email_changed");

    // "This was not me": the old address comes back, everyone is signed out, a reset link follows.
    const kept = c.copy();
    const reverted = await h.client().post("/auth/email/revert", { token: revertToken });
    expect(reverted.statusCode, reverted.body).toBe(200);
    expect(reverted.json()).toEqual({ email: oldEmail });
    const me = await kept.get("/auth/me");
    expect(me.statusCode).toBe(401);
    expect(me.headers[HEADER]).toBe("email_change_reverted");

    const resetMail = await smtp.next(oldEmail);
    const resetToken = linkIn(resetMail, "/reset-password");
    const reset = await h.client().post("/auth/password/reset", { token: resetToken, newPassword: NEW_PASSWORD });
    expect(reset.statusCode, reset.body).toBe(204);
    const fresh = h.client();
    expect((await fresh.login(name, NEW_PASSWORD)).statusCode).toBe(200);
    expect((await fresh.get("/auth/email")).json()).toMatchObject({ email: oldEmail, verified: true });
    expect(await eventTypes(fresh)).toContain("email_change_reverted");

    const twice = await h.client().post("/auth/email/revert", { token: revertToken });
    expect(twice.statusCode).toBe(400);
    expect(twice.json().error.code).toBe("link_used");
    expectNoTokenInLogs(h, revertToken, resetToken);
  });

  it("GET /auth/email shows the pending change as soon as PUT has answered", async () => {
    const { c } = await signedUp(h, smtp);
    const newEmail = `${uniqueName("soon")}@example.org`;
    const change = await c.request({
      method: "PUT",
      url: "/auth/email",
      body: { email: newEmail, password: PASSWORD },
    });
    expect(change.statusCode, change.body).toBe(202);
    expect((await c.get("/auth/email")).json().pending).toBe(newEmail);
  });

  it("email change to an address another account has proved: 409 email_taken", async () => {
    const other = await signedUp(h, smtp);
    // Held unverified, it could be taken (test/http/email-review.test.ts); proved, it cannot.
    expect(
      (await other.c.post("/auth/email/verify", { token: linkIn(other.verifyMail, "/verify-email") })).statusCode,
    ).toBe(200);
    const { c } = await signedUp(h, smtp);
    const response = await c.request({
      method: "PUT",
      url: "/auth/email",
      body: { email: other.email.toUpperCase(), password: PASSWORD },
    });
    expect(response.statusCode, response.body).toBe(409);
    expect(response.json().error.code).toBe("email_taken");
  });

  it("a bearer client resets its password with no cookie, and the reset ends its bearer session", async () => {
    const { name, email } = await signedUp(h, smtp);
    const script = h.client();
    const issued = await script.token(name);
    expect(issued.statusCode, issued.body).toBe(200);
    const { access_token: accessToken, refresh_token: refreshToken } = issued.json();
    expect((await script.bearer("GET", "/auth/email", accessToken)).json()).toMatchObject({ email });

    const forgot = await api(h, "/auth/password/forgot", { email });
    expect(forgot.statusCode, forgot.body).toBe(202);
    const token = linkIn(await smtp.next(email), "/reset-password");
    const reset = await api(h, "/auth/password/reset", { token, newPassword: NEW_PASSWORD });
    expect(reset.statusCode, reset.body).toBe(204);
    expect(reset.headers["set-cookie"]).toBeUndefined();

    const refresh = await script.refresh(refreshToken);
    expect(refresh.statusCode).toBe(401);
    expect(refresh.json().error.code).toBe("invalid_grant");
    const access = await script.bearer("GET", "/auth/email", accessToken);
    expect(access.statusCode).toBe(401);
    expect((await script.token(name, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it("the admin CLI's path: disable then a reset link issued before is refused (no session revived)", async () => {
    const { email, name, userId } = await signedUp(h, smtp);
    await h.client().post("/auth/password/forgot", { email });
    const token = linkIn(await smtp.next(email), "/reset-password");
    await h.server.auth.admin.disable(userId, OPERATOR);
    const reset = await h.client().post("/auth/password/reset", { token, newPassword: NEW_PASSWORD });
    expect(reset.json().error.code).toBe("account_disabled");
    expect((await h.client().login(name)).statusCode).toBe(403);
  });
});

describe("REQUIRE_VERIFIED_EMAIL=true", () => {
  let smtp: TestSmtp;
  let h: Harness;
  useMailing((started) => ({ smtp, h } = started), { REQUIRE_VERIFIED_EMAIL: "true" });

  it("register without an address is refused", async () => {
    const response = await h.client().register(uniqueName());
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe("invalid_request");
  });

  it("login waits for the address to be verified; a new link can be asked for; then login works", async () => {
    const name = uniqueName("req");
    const email = `${name}@example.com`;
    const c = h.client();
    expect((await c.post("/auth/register", { username: name, password: PASSWORD, email })).statusCode).toBe(201);
    const first = linkIn(await smtp.next(email), "/verify-email");

    const unverified = await c.login(name);
    expect(unverified.statusCode).toBe(403);
    expect(unverified.json().error.code).toBe("email_unverified");
    expect(c.cookies.size === 0 || ![...c.cookies.keys()].some((k) => /sid/.test(k))).toBe(true);
    const wrongPassword = await c.login(name, "not the password at all");
    expect(wrongPassword.statusCode).toBe(401);
    expect(wrongPassword.json().error.code).toBe("invalid_credentials");
    const token = await c.token(name);
    expect(token.statusCode).toBe(403);
    expect(token.json().error.code).toBe("email_unverified");

    const resend = await c.post("/auth/email/verification", { email: email.toUpperCase() });
    expect(resend.statusCode, resend.body).toBe(202);
    expect(resend.json()).toEqual({});
    const second = linkIn(await smtp.next(email), "/verify-email");
    expect(second).not.toBe(first);
    // A resend voids nothing (a stranger may send one): either link proves the address, and
    // once one has, the others are void.
    expect((await c.post("/auth/email/verify", { token: second })).statusCode).toBe(200);
    expect((await c.post("/auth/email/verify", { token: first })).json().error.code).toBe("link_invalid");

    const login = await c.login(name);
    expect(login.statusCode, login.body).toBe(200);
    expect((await c.get("/auth/email")).json()).toMatchObject({ email, verified: true, required: true });
    expect((await h.client().token(name)).statusCode).toBe(200);
    expectNoTokenInLogs(h, first, second);
  });

  it("resend for a verified or unknown address answers the same and mails nothing", async () => {
    const name = uniqueName("done");
    const verified = `${name}@example.com`;
    expect(
      (await h.client().post("/auth/register", { username: name, password: PASSWORD, email: verified })).statusCode,
    ).toBe(201);
    const token = linkIn(await smtp.next(verified), "/verify-email");
    expect((await h.client().post("/auth/email/verify", { token })).statusCode).toBe(200);
    await h.server.auth.email.idle();
    const before = smtp.messages.length;
    for (const email of [`${uniqueName("none")}@example.com`, verified, verified.toUpperCase()]) {
      const response = await h.client().post("/auth/email/verification", { email });
      expect(response.statusCode, email).toBe(202);
      expect(response.json(), email).toEqual({});
    }
    await h.server.auth.email.idle();
    expect(smtp.messages.length).toBe(before);
  });
});
