/**
 * Issue 31, after its review: the behaviour the review's fixes pin, over HTTP against the
 * real server app and a real SMTP server on 127.0.0.1. An address held unproved never keeps
 * it from the account that proves it (a revert after a squat, a change to a squatted
 * address); a proved one does (`email_taken`, a revert that leaves no address). A new
 * password voids a change asked for with the old one. A disabled account's links wait.
 * Invisible characters make no address. The change is limited per target address too. A
 * stranger's resend cancels nothing. An operator's account needs no address.
 */
import { describe, expect, it } from "vitest";
import { type Client, type Harness, PASSWORD, uniqueName } from "../helpers/harness.js";
import { signedUp, useMailing } from "../helpers/mail.js";
import { linkIn, type TestSmtp } from "../helpers/smtp.js";

const HEADER = "latchkey-session-ended";
const NEW_PASSWORD = "a brand new passphrase 42";

/** A new user with an address named after it, signed in; its verification mail taken. */
function reviewer(h: Harness, smtp: TestSmtp) {
  const name = uniqueName("rev");
  return signedUp(h, smtp, { name, email: `${name}@example.com` });
}

/** As `reviewer`, the address then proved through its mailed link. */
async function verifiedUser(h: Harness, smtp: TestSmtp) {
  const user = await reviewer(h, smtp);
  const verified = await user.c.post("/auth/email/verify", { token: linkIn(user.verifyMail, "/verify-email") });
  expect(verified.statusCode, verified.body).toBe(200);
  return user;
}

/** `PUT /auth/email` with the right password. */
function askChange(c: Client, email: string) {
  return c.request({ method: "PUT", url: "/auth/email", body: { email, password: PASSWORD } });
}

/**
 * A verified user who moved to a new address and proved it (as an intruder who knows the
 * password would): the old address's revert link, unused.
 */
async function movedAway(h: Harness, smtp: TestSmtp) {
  const user = await verifiedUser(h, smtp);
  const newEmail = `${uniqueName("moved")}@example.org`;
  const change = await askChange(user.c, newEmail);
  expect(change.statusCode, change.body).toBe(202);
  const confirm = await smtp.next(newEmail);
  const revertToken = linkIn(await smtp.next(user.email), "/revert-email");
  const made = await h.client().post("/auth/email/verify", { token: linkIn(confirm, "/verify-email") });
  expect(made.statusCode, made.body).toBe(200);
  expect(made.json()).toEqual({ email: newEmail });
  return { ...user, newEmail, revertToken };
}

/** An account with no address, made as the CLI makes one. */
async function operatorAccount(h: Harness) {
  const name = uniqueName("op");
  const user = await h.server.auth.accounts.register(name, PASSWORD);
  return { name, id: user.id };
}

async function addressOf(h: Harness, userId: string) {
  const user = await h.stores.users.findById(userId);
  return user && { email: user.email, verified: user.emailVerifiedAt !== null };
}

/** `c` asks to move to a new address (`prefix…@example.org`); the link its mail there holds. */
async function pendingChange(smtp: TestSmtp, c: Client, prefix: string) {
  const target = `${uniqueName(prefix)}@example.org`;
  expect((await askChange(c, target)).statusCode).toBe(202);
  return { target, changeToken: linkIn(await smtp.next(target), "/verify-email") };
}

/**
 * A stranger at `ip` asks for a new verification mail to `user`'s address: the change to a
 * new address that `user` asked for first still goes through.
 */
async function expectResendKeepsChange(
  h: Harness,
  smtp: TestSmtp,
  { email, c, userId }: { email: string; c: Client; userId: string },
  ip: string,
) {
  const { target, changeToken } = await pendingChange(smtp, c, "keep");
  const resend = await h.client({ ip }).post("/auth/email/verification", { email });
  expect(resend.statusCode, resend.body).toBe(202);
  await h.server.auth.email.idle();
  const made = await h.client().post("/auth/email/verify", { token: changeToken });
  expect(made.statusCode, made.body).toBe(200);
  expect(made.json()).toEqual({ email: target });
  expect(await addressOf(h, userId)).toEqual({ email: target, verified: true });
}

async function expectEnded(c: Client, reason: string) {
  const me = await c.get("/auth/me");
  expect(me.statusCode).toBe(401);
  expect(me.headers[HEADER]).toBe(reason);
}

describe("email review: links, squats and changes", () => {
  let smtp: TestSmtp;
  let h: Harness;
  useMailing((started) => ({ smtp, h } = started));

  it("a revert after a squat takes the old address back from the squatter, verified", async () => {
    const { name, email: oldEmail, userId, newEmail, revertToken } = await movedAway(h, smtp);
    // The old address is free now: a throwaway account registers with it, unverified.
    const squatterName = uniqueName("squat");
    const squat = await h
      .client()
      .post("/auth/register", { username: squatterName, password: PASSWORD, email: oldEmail });
    expect(squat.statusCode, squat.body).toBe(201);
    const squatterId = (await h.stores.users.findByUsername(squatterName))?.id as string;
    const squatterLink = linkIn(await smtp.next(oldEmail), "/verify-email");

    const reverted = await h.client().post("/auth/email/revert", { token: revertToken });
    expect(reverted.statusCode, reverted.body).toBe(200);
    expect(reverted.json()).toEqual({ email: oldEmail });
    expect(await addressOf(h, userId)).toEqual({ email: oldEmail, verified: true });
    expect(await addressOf(h, squatterId)).toEqual({ email: null, verified: false });
    // Every session ended: the owner signs in again (the password did not change) and sees it.
    const fresh = h.client();
    expect((await fresh.login(name)).statusCode).toBe(200);
    expect((await fresh.get("/auth/email")).json()).toMatchObject({ email: oldEmail, verified: true, pending: null });
    await smtp.next(oldEmail); // the reset link the revert mails

    // The squatter's own link does not take the address back.
    const again = await h.client().post("/auth/email/verify", { token: squatterLink });
    expect(again.statusCode, again.body).toBe(409);
    expect(again.json().error.code).toBe("email_taken");
    expect(await addressOf(h, userId)).toEqual({ email: oldEmail, verified: true });

    // The address the intruder set is no way back in: it is nobody's.
    const forgot = await h.client().post("/auth/password/forgot", { email: newEmail });
    expect(forgot.statusCode).toBe(202);
    await h.server.auth.email.idle();
    await expect(smtp.next(newEmail, 1000)).rejects.toThrow(/no mail/);
  });

  it("a revert when another account proved the old address meanwhile: no address, sessions end, a reset link works", async () => {
    const { name, email: oldEmail, c, userId, revertToken } = await movedAway(h, smtp);
    const otherDevice = h.client();
    expect((await otherDevice.login(name)).statusCode).toBe(200);
    const other = await operatorAccount(h);
    expect(await h.stores.users.setEmail(other.id, oldEmail, h.clock.now())).toBe(true);

    const reverted = await h.client().post("/auth/email/revert", { token: revertToken });
    expect(reverted.statusCode, reverted.body).toBe(200);
    expect(reverted.json()).toEqual({ email: null });
    // Not the address the change put there: that is the intruder's.
    expect((await addressOf(h, userId))?.email).toBeNull();
    expect((await addressOf(h, other.id))?.email).toBe(oldEmail);
    await expectEnded(c, "email_change_reverted");
    await expectEnded(otherDevice, "email_change_reverted");

    const token = linkIn(await smtp.next(oldEmail), "/reset-password");
    const reset = await h.client().post("/auth/password/reset", { token, newPassword: NEW_PASSWORD });
    expect(reset.statusCode, reset.body).toBe(204);
    expect((await h.client().login(name, PASSWORD)).statusCode).toBe(401);
    expect((await h.client().login(name, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it("a password reset voids a pending email change", async () => {
    const { email, c, userId } = await reviewer(h, smtp);
    const target = `${uniqueName("pending")}@example.org`;
    expect((await askChange(c, target)).statusCode).toBe(202);
    const changeToken = linkIn(await smtp.next(target), "/verify-email");

    expect((await h.client().post("/auth/password/forgot", { email })).statusCode).toBe(202);
    const resetToken = linkIn(await smtp.next(email), "/reset-password");
    const reset = await h.client().post("/auth/password/reset", { token: resetToken, newPassword: NEW_PASSWORD });
    expect(reset.statusCode, reset.body).toBe(204);

    const made = await h.client().post("/auth/email/verify", { token: changeToken });
    expect(made.statusCode, made.body).toBe(400);
    expect(made.json().error.code).toBe("link_invalid");
    expect((await addressOf(h, userId))?.email).toBe(email);
  });

  it("a password change voids a pending email change", async () => {
    const { email, c, userId } = await reviewer(h, smtp);
    const target = `${uniqueName("pending")}@example.org`;
    expect((await askChange(c, target)).statusCode).toBe(202);
    const changeToken = linkIn(await smtp.next(target), "/verify-email");

    const changed = await c.post("/auth/password", { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
    expect(changed.statusCode, changed.body).toBe(204);

    const made = await h.client().post("/auth/email/verify", { token: changeToken });
    expect(made.statusCode, made.body).toBe(400);
    expect(made.json().error.code).toBe("link_invalid");
    expect((await addressOf(h, userId))?.email).toBe(email);
    expect((await c.get("/auth/email")).json()).toMatchObject({ email, pending: null });
  });

  it("a disabled account's verify and revert links answer 403 account_disabled and work once it is enabled", async () => {
    const fresh = await reviewer(h, smtp);
    const verifyToken = linkIn(fresh.verifyMail, "/verify-email");
    await h.server.auth.accounts.disable(fresh.name);
    const refused = await h.client().post("/auth/email/verify", { token: verifyToken });
    expect(refused.statusCode, refused.body).toBe(403);
    expect(refused.json().error.code).toBe("account_disabled");
    expect(await addressOf(h, fresh.userId)).toEqual({ email: fresh.email, verified: false });
    await h.server.auth.accounts.enable(fresh.name);
    const verified = await h.client().post("/auth/email/verify", { token: verifyToken });
    expect(verified.statusCode, verified.body).toBe(200);
    expect(verified.json()).toEqual({ email: fresh.email });

    const moved = await movedAway(h, smtp);
    await h.server.auth.accounts.disable(moved.name);
    const refusedRevert = await h.client().post("/auth/email/revert", { token: moved.revertToken });
    expect(refusedRevert.statusCode, refusedRevert.body).toBe(403);
    expect(refusedRevert.json().error.code).toBe("account_disabled");
    expect((await addressOf(h, moved.userId))?.email).toBe(moved.newEmail);
    await h.server.auth.accounts.enable(moved.name);
    const reverted = await h.client().post("/auth/email/revert", { token: moved.revertToken });
    expect(reverted.statusCode, reverted.body).toBe(200);
    expect(reverted.json()).toEqual({ email: moved.email });
  });

  it("a change to an address held unverified takes it on verification; one held verified is 409 email_taken", async () => {
    const holder = await reviewer(h, smtp);
    const { c, userId } = await reviewer(h, smtp);
    const change = await askChange(c, holder.email.toUpperCase());
    expect(change.statusCode, change.body).toBe(202);
    expect(change.json()).toEqual({ pending: holder.email });
    const made = await h.client().post("/auth/email/verify", {
      token: linkIn(await smtp.next(holder.email), "/verify-email"),
    });
    expect(made.statusCode, made.body).toBe(200);
    expect(made.json()).toEqual({ email: holder.email });
    expect(await addressOf(h, userId)).toEqual({ email: holder.email, verified: true });
    expect(await addressOf(h, holder.userId)).toEqual({ email: null, verified: false });
    // The holder's own, older link does not take it back.
    const late = await h.client().post("/auth/email/verify", { token: linkIn(holder.verifyMail, "/verify-email") });
    expect(late.statusCode, late.body).toBe(409);
    expect(late.json().error.code).toBe("email_taken");

    const proved = await verifiedUser(h, smtp);
    const taken = await askChange(c, proved.email);
    expect(taken.statusCode, taken.body).toBe(409);
    expect(taken.json().error.code).toBe("email_taken");
  });

  it.each([
    ["a zero-width space", "\u200b"],
    ["a right-to-left override", "\u202e"],
    ["a soft hyphen", "\u00ad"],
  ])("an address with %s in its local part is refused at register and forgot", async (_what, invisible) => {
    const email = `ali${invisible}ce@example.com`;
    const register = await h.client().post("/auth/register", { username: uniqueName(), password: PASSWORD, email });
    expect(register.statusCode, register.body).toBe(400);
    expect(register.json().error.code).toBe("invalid_request");
    const forgot = await h.client().post("/auth/password/forgot", { email });
    expect(forgot.statusCode, forgot.body).toBe(400);
    expect(forgot.json().error.code).toBe("invalid_request");
  });

  it("a stranger's resend to a verified address does not cancel its pending change", async () => {
    await expectResendKeepsChange(h, smtp, await verifiedUser(h, smtp), "192.0.2.77");
  });

  it("a stranger's resend to an unverified address does not cancel its pending change either", async () => {
    await expectResendKeepsChange(h, smtp, await reviewer(h, smtp), "192.0.2.78");
  });

  it("verify answers 409 email_taken when another account proved the address meanwhile", async () => {
    const { email, c, userId } = await reviewer(h, smtp);
    const { target, changeToken } = await pendingChange(smtp, c, "race");
    const other = await operatorAccount(h);
    expect(await h.stores.users.setEmail(other.id, target, h.clock.now())).toBe(true);

    const made = await h.client().post("/auth/email/verify", { token: changeToken });
    expect(made.statusCode, made.body).toBe(409);
    expect(made.json().error.code).toBe("email_taken");
    expect((await addressOf(h, userId))?.email).toBe(email);
    expect((await addressOf(h, other.id))?.email).toBe(target);
  });
});

describe("email review: the change is limited per target address", () => {
  let h: Harness;
  useMailing((started) => ({ h } = started), { MAIL_ACCOUNT_MAX: "2" });

  it("three accounts asking for one new address: the third gets 429 with Retry-After", async () => {
    const target = `${uniqueName("popular")}@example.org`;
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const c = h.client();
      await c.signUpAndLogIn(uniqueName("asker"));
      answers.push(await askChange(c, target));
    }
    expect(answers.map((r) => r.statusCode)).toEqual([202, 202, 429]);
    const limited = answers[2];
    expect(limited?.json().error.code).toBe("rate_limited");
    expect(Number(limited?.headers["retry-after"])).toBeGreaterThan(0);
    await h.server.auth.email.idle();
  });
});

describe("email review: REQUIRE_VERIFIED_EMAIL=true", () => {
  let h: Harness;
  useMailing((started) => ({ h } = started), { REQUIRE_VERIFIED_EMAIL: "true" });

  it("an operator creates an account without an address, and it signs in; over HTTP one is still required", async () => {
    const { name } = await operatorAccount(h);
    const c = h.client();
    const login = await c.login(name);
    expect(login.statusCode, login.body).toBe(200);
    expect((await c.get("/auth/email")).json()).toEqual({
      email: null,
      verified: false,
      pending: null,
      required: true,
    });
    expect((await h.client().token(name)).statusCode).toBe(200);

    const register = await h.client().register(uniqueName());
    expect(register.statusCode, register.body).toBe(400);
    expect(register.json().error.code).toBe("invalid_request");
  });
});
