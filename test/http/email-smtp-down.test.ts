/**
 * The mail server is down: `forgot` answers as ever (202, before any mail work), the failed
 * send is logged (a warning naming the attempt and the masked address, never the link or
 * its token), and when the mail server comes up the retry delivers. Nothing is mocked: the
 * server's own SMTP transport (nodemailer) connects to a port where nothing listens, then
 * to a real SMTP server (smtp-server, reached on that port through a plain TCP forward).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Harness, PASSWORD, startHarness, uniqueName } from "../helpers/harness.js";
import { linkIn, startSmtp, type TestSmtp } from "../helpers/smtp.js";

/** A port of 127.0.0.1 that was free a moment ago (nothing listens on it now). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== "object" || address === null) throw new Error("no port");
  return address.port;
}

/** Listens on `port` and carries every connection to `targetPort`: the mail server "coming up" there. */
async function forward(port: number, targetPort: number): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("error", () => {}).on("close", () => sockets.delete(socket));
    }
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

const WARN = 40;

function parsed(h: Harness): LogLine[] {
  return h.logs.map((line) => JSON.parse(line) as LogLine);
}

/** Waits until `test` holds, polling; fails after `timeoutMs`. */
async function until(test: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function expectNoSecretInLogs(h: Harness, token: string) {
  const secret = token.split(".")[1] as string;
  const id = token.split(".")[0] as string;
  expect(h.logs.filter((line) => line.includes(secret) || line.includes(id) || line.includes("#token="))).toEqual([]);
}

describe("the mail server is down, then comes up", () => {
  let smtp: TestSmtp;
  let outbox: string;
  let port: number;
  let h: Harness;
  let forwarder: { close(): Promise<void> } | undefined;
  beforeAll(async () => {
    smtp = await startSmtp();
    outbox = await mkdtemp(join(tmpdir(), "latchkey-outbox-"));
    port = await freePort();
    h = await startHarness({ SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_OUTBOX: outbox });
  });
  afterAll(async () => {
    await h?.close();
    await forwarder?.close();
    await smtp?.close();
    await rm(outbox, { recursive: true, force: true });
  });

  it("forgot answers 202 unchanged, logs the failure without the link, and the retry delivers", async () => {
    const name = uniqueName("down");
    const email = `${name}@example.com`;
    const registered = await h.client().post("/auth/register", { username: name, password: PASSWORD, email });
    expect(registered.statusCode, registered.body).toBe(201);
    // The verification mail fails too: wait for its first failure, so the lines below are the reset's.
    await until(() => parsed(h).some((l) => l.kind === "verify_email" && l.level === WARN), 5000, "the first failure");

    const known = await h.client().post("/auth/password/forgot", { email });
    const unknown = await h.client().post("/auth/password/forgot", { email: `${uniqueName("x")}@example.com` });
    expect(known.statusCode).toBe(202);
    expect(known.body).toBe("{}");
    expect(unknown.statusCode).toBe(202);
    expect(unknown.body).toBe(known.body);

    await until(() => parsed(h).some((l) => l.kind === "reset_password" && l.level === WARN), 5000, "the warning");
    const warning = parsed(h).find((l) => l.kind === "reset_password" && l.level === WARN) as LogLine;
    expect(warning.msg).toMatch(/not sent/);
    expect(warning.attempt).toBe(1);
    expect(warning.to).toBe(`${email.slice(0, 1)}***@example.com`);
    expect(JSON.stringify(warning)).not.toContain(name.slice(1));
    expect(warning.retryInMs).toBe(1000);

    // The mail server comes up on that port before the first retry (1 s after the failure).
    forwarder = await forward(port, smtp.port);
    const both = [await smtp.next(email, 8000), await smtp.next(email, 8000)];
    const verify = both.find((m) => m.text?.includes("/verify-email#token="));
    const reset = both.find((m) => m.text?.includes("/reset-password#token="));
    if (!verify || !reset) throw new Error("both the verification and the reset mail must arrive");
    const verifyToken = linkIn(verify, "/verify-email");
    const resetToken = linkIn(reset, "/reset-password");
    await h.server.auth.email.idle();
    const sent = parsed(h).find((l) => l.kind === "reset_password" && l.msg === "mail sent");
    expect(sent?.attempt).toBe(2);

    const done = await h
      .client()
      .post("/auth/password/reset", { token: resetToken, newPassword: "a brand new passphrase 42" });
    expect(done.statusCode, done.body).toBe(204);
    expect((await h.client().post("/auth/email/verify", { token: verifyToken })).statusCode).toBe(200);
    // No log line, from the request log to the mail queue's, ever holds a link's token.
    expectNoSecretInLogs(h, resetToken);
    expectNoSecretInLogs(h, verifyToken);
  });

  it("a mail server that answers 451 is retried the same way", async () => {
    const name = uniqueName("busy");
    const email = `${name}@example.com`;
    await h.client().post("/auth/register", { username: name, password: PASSWORD, email });
    await smtp.next(email, 8000);
    const before = parsed(h).filter((l) => l.level === WARN && l.kind === "reset_password").length;
    smtp.stop();
    expect((await h.client().post("/auth/password/forgot", { email })).statusCode).toBe(202);
    await until(
      () => parsed(h).filter((l) => l.level === WARN && l.kind === "reset_password").length > before,
      5000,
      "the 451's warning",
    );
    const warning = parsed(h)
      .filter((l) => l.level === WARN && l.kind === "reset_password")
      .at(-1) as LogLine;
    expect(String(warning.error)).toMatch(/451/);
    expect(h.logs.some((line) => line.includes("/reset-password"))).toBe(false);
  });
});
