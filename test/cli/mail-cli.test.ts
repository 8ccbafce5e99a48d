/**
 * Issue 31, the server's mail: `latchkey users create --email` and `users reset-link`
 * through a real SMTP server (smtp-server, parsed by mailparser), the link of the reset
 * mail used over HTTP on a running server, and, with no `SMTP_URL`, the outbox folder of
 * `.eml` files whose paths the log shows (never a link).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { simpleParser } from "mailparser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, runCli, startServerProcess, within } from "../helpers/processes.js";
import { linkIn, startSmtp, type TestSmtp } from "../helpers/smtp.js";

const PASSWORD = "correct horse battery staple";
const NEW_PASSWORD = "a brand new passphrase here";
/** A link token: `id.secret`, as session tokens (22 + "." + 43 base64url characters). */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

/** A JSON request to the server, from its own origin. */
const post = (server: RunningServer, path: string, body: unknown) =>
  fetch(`${server.origin}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", origin: server.origin },
    body: JSON.stringify(body),
  });

describe("latchkey users and mail, through a real SMTP server", () => {
  let dir: string;
  let smtp: TestSmtp;
  let env: Record<string, string>;
  let server: RunningServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-mail-cli-"));
    smtp = await startSmtp();
    env = { DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}`, SMTP_URL: smtp.url };
    server = await startServerProcess(env);
  });
  afterAll(async () => {
    await server?.stop();
    await smtp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the server's start log names the SMTP server, never the URL's credentials", async () => {
    expect(server.output()).toContain(`mail transport: SMTP server 127.0.0.1:${smtp.port}`);
  });

  it("users create --email stores the address unverified and mails it a verification link", async () => {
    const created = await runCli(["users", "create", "alice", "--email", "Alice@Example.com"], env, `${PASSWORD}\n`);
    expect([created.code, created.stderr]).toEqual([0, ""]);
    expect(created.stdout).toMatch(/^created alice \(/);
    expect(created.stdout).toContain(
      "a***@example.com is not verified yet: a verification link is being mailed to it.",
    );
    const mail = await smtp.next("alice@example.com");
    expect(mail.from?.text).toBe('"latchkey" <no-reply@localhost>');
    expect(linkIn(mail, "/verify-email")).toMatch(TOKEN_SHAPE);
    expect(mail.headers.has("x-mailer")).toBe(false);
    const listed = JSON.parse((await runCli(["users", "list", "--json"], env)).stdout);
    expect(listed).toEqual([
      expect.objectContaining({ username: "alice", email: "alice@example.com", emailVerified: false }),
    ]);
  });

  it("users reset-link mails a reset link that works once over HTTP; no output holds the token", async () => {
    const sent = await runCli(["users", "reset-link", "ALICE"], env);
    expect([sent.code, sent.stderr, sent.stdout]).toEqual([0, "", "Sent a password reset link to a***@example.com.\n"]);
    const mail = await smtp.next("alice@example.com");
    expect(mail.subject).toBe("Reset your password");
    const token = linkIn(mail, "/reset-password");
    expect(token).toMatch(TOKEN_SHAPE);
    expect(mail.html).toContain(`/reset-password#token=${token}`);

    expect((await post(server, "/auth/password/reset", { token, newPassword: NEW_PASSWORD })).status).toBe(204);
    expect((await post(server, "/auth/login", { username: "alice", password: NEW_PASSWORD })).status).toBe(200);
    // Spent (and the user's other reset links deleted with it): refused as a link error.
    const again = await post(server, "/auth/password/reset", { token, newPassword: `${NEW_PASSWORD}!` });
    expect(again.status).toBe(400);
    expect(((await again.json()) as { error: { code: string } }).error.code).toMatch(/^link_(used|invalid)$/);
    // The link reached the address: that proves it.
    const listed = JSON.parse((await runCli(["users", "list", "--json"], env)).stdout);
    expect(listed).toEqual([expect.objectContaining({ username: "alice", emailVerified: true })]);
    expect(server.output()).not.toContain(token);
    expect(server.output()).not.toContain(token.split(".")[1]);
  });

  it("users reset-link fails with exit code 1 for an unknown user and a user without an address", async () => {
    const unknown = await runCli(["users", "reset-link", "nobody"], env);
    expect([unknown.code, unknown.stdout]).toEqual([1, ""]);
    expect(unknown.stderr).toBe('latchkey: no user named "nobody"\n');

    expect((await runCli(["users", "create", "bob"], env, `${PASSWORD}\n`)).code).toBe(0);
    const none = await runCli(["users", "reset-link", "bob"], env);
    expect([none.code, none.stdout]).toEqual([1, ""]);
    expect(none.stderr).toMatch(/^latchkey: bob has no email address/);
  });

  it("users create --email refuses a malformed or taken address with exit code 1, creating nobody", async () => {
    const malformed = await runCli(["users", "create", "carol", "--email", "not-an-address"], env, `${PASSWORD}\n`);
    expect([malformed.code, malformed.stdout]).toEqual([1, ""]);
    expect(malformed.stderr).toMatch(/^latchkey: .*email/i);
    const taken = await runCli(["users", "create", "carol", "--email", "ALICE@example.com"], env, `${PASSWORD}\n`);
    expect([taken.code, taken.stdout]).toEqual([1, ""]);
    expect(taken.stderr).toBe("latchkey: That email address belongs to another account.\n");
    expect((await runCli(["users", "list", "--json"], env)).stdout).not.toContain("carol");
  });

  it("a bad SMTP_URL is a configuration error (exit 2) that never repeats the URL", async () => {
    for (const url of ["http://mailer:s3cret-pass@mail.example", "smtp://mailer:s3cret-pass@[bad"]) {
      const result = await runCli(["users", "list"], { ...env, SMTP_URL: url });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^latchkey: invalid configuration: SMTP_URL /);
      expect(result.stderr).not.toContain("s3cret");
    }
  });

  it("users reset-link fails with exit code 1 when the mail server refuses the message", async () => {
    smtp.stop();
    const refused = await runCli(["users", "reset-link", "alice"], env);
    expect([refused.code, refused.stdout]).toEqual([1, ""]);
    expect(refused.stderr).toMatch(/^latchkey: The reset link could not be sent to a\*\*\*@example\.com: .*451/);
    expect(refused.stderr).not.toContain("#token=");
  });
});

describe("latchkey serve without SMTP_URL: the outbox", () => {
  let dir: string;
  let outbox: string;
  let server: RunningServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-outbox-"));
    outbox = join(dir, "outbox");
    server = await startServerProcess({ DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}`, MAIL_OUTBOX: outbox });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a registration's verification mail is written to MAIL_OUTBOX as an .eml only its owner reads; the log has its path, not its link", async () => {
    expect(server.output()).toContain(`mail transport: no SMTP_URL: each message is written to ${outbox}`);
    const registered = await post(server, "/auth/register", {
      username: "dora",
      password: PASSWORD,
      email: "dora@example.com",
    });
    expect(registered.status).toBe(201);
    await within(5000, async () => server.output().includes("mail written to the outbox"));

    const files = readdirSync(outbox);
    expect(files).toEqual([expect.stringMatching(/^\d{8}T\d{6}\.\d{3}Z-verify_email-[0-9a-f]{8}\.eml$/)]);
    const path = join(outbox, files[0] as string);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const mail = await simpleParser(readFileSync(path));
    expect(mail.to && !Array.isArray(mail.to) && mail.to.text).toBe("dora@example.com");
    const token = linkIn(mail, "/verify-email");
    expect(token).toMatch(TOKEN_SHAPE);

    const line = server
      .output()
      .split("\n")
      .find((l) => l.includes("mail written to the outbox"));
    expect(JSON.parse(line as string)).toMatchObject({
      level: 30,
      path,
      kind: "verify_email",
      to: "d***@example.com",
    });
    expect(server.output()).not.toContain(token.split(".")[1]);
    expect(server.output()).not.toContain("dora@example.com");

    // The link works: the address is verified.
    const verified = await post(server, "/auth/email/verify", { token });
    expect([verified.status, await verified.json()]).toEqual([200, { email: "dora@example.com" }]);
  });

  it("users reset-link writes to the outbox too, and says where", async () => {
    const env = { DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}`, MAIL_OUTBOX: outbox };
    const sent = await runCli(["users", "reset-link", "dora"], env);
    expect([sent.code, sent.stderr]).toEqual([0, ""]);
    expect(sent.stdout).toBe(
      `Sent a password reset link to d***@example.com.\n(No SMTP_URL: the message is a file in ${outbox}.)\n`,
    );
    const reset = readdirSync(outbox).filter((name) => name.includes("-reset_password-"));
    expect(reset).toHaveLength(1);
    const mail = await simpleParser(readFileSync(join(outbox, reset[0] as string)));
    expect(linkIn(mail, "/reset-password")).toMatch(TOKEN_SHAPE);
  });
});
