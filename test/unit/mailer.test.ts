/**
 * The mail queue (issue 31): sending never blocks the caller; a failed send is logged
 * without its secret link and retried; the last failure is logged as given up.
 */
import { describe, expect, it } from "vitest";
import {
  DEFAULT_MAIL_TEMPLATES,
  Mailer,
  type MailLog,
  type MailMessage,
} from "../../packages/latchkey/src/core/mail.js";

const LINK =
  "https://app.example/reset-password#token=AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";

function message(): MailMessage {
  const words = DEFAULT_MAIL_TEMPLATES.reset_password({
    username: "alice",
    email: "alice@example.com",
    link: LINK,
    expiresInMinutes: 30,
  });
  return { kind: "reset_password", to: "alice@example.com", from: "no-reply@app.example", ...words };
}

function capture(): { log: MailLog; lines: { level: string; object: Record<string, unknown>; message: string }[] } {
  const lines: { level: string; object: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (object: Record<string, unknown>, text: string) => {
    lines.push({ level, object, message: text });
  };
  return { log: { info: at("info"), warn: at("warn"), error: at("error") }, lines };
}

describe("Mailer", () => {
  it("returns at once and sends in the background", async () => {
    const sent: MailMessage[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const mailer = new Mailer({
      transport: async (m) => {
        await gate;
        sent.push(m);
      },
    });
    mailer.send(message());
    expect(sent).toHaveLength(0);
    release();
    await mailer.idle();
    expect(sent).toHaveLength(1);
  });

  it("retries a failed send after each delay, logging each failure without the link", async () => {
    const { log, lines } = capture();
    let calls = 0;
    const sent: MailMessage[] = [];
    const mailer = new Mailer({
      retryDelaysMs: [5, 5],
      log,
      transport: async (m) => {
        calls += 1;
        if (calls < 3) throw new Error("connect ECONNREFUSED 127.0.0.1:2525");
        sent.push(m);
      },
    });
    mailer.send(message());
    await mailer.idle();
    expect(calls).toBe(3);
    expect(sent).toHaveLength(1);
    const warnings = lines.filter((l) => l.level === "warn");
    expect(warnings.map((w) => w.object.attempt)).toEqual([1, 2]);
    expect(warnings[0]?.object).toMatchObject({ kind: "reset_password", to: "a***@example.com" });
    expect(String(warnings[0]?.object.error)).toContain("ECONNREFUSED");
    expect(JSON.stringify(lines)).not.toContain("BBBBBBBBBB");
    expect(JSON.stringify(lines)).not.toContain("alice@example.com");
  });

  it("gives up after the last delay, logged as an error", async () => {
    const { log, lines } = capture();
    let calls = 0;
    const mailer = new Mailer({
      retryDelaysMs: [1, 1],
      log,
      transport: async () => {
        calls += 1;
        throw new Error("550 mailbox unavailable");
      },
    });
    mailer.send(message());
    await mailer.idle();
    expect(calls).toBe(3);
    expect(lines.filter((l) => l.level === "error").map((l) => l.message)).toEqual(["mail not sent: giving up"]);
  });

  it("close drops the retries still waiting and says so", async () => {
    const { log, lines } = capture();
    let calls = 0;
    const mailer = new Mailer({
      retryDelaysMs: [60_000],
      log,
      transport: async () => {
        calls += 1;
        throw new Error("down");
      },
    });
    mailer.send(message());
    await new Promise((resolve) => setTimeout(resolve, 20));
    await mailer.close();
    await mailer.idle();
    expect(calls).toBe(1);
    expect(lines.some((l) => l.message === "mail retries dropped at shutdown" && l.object.dropped === 1)).toBe(true);
    mailer.send(message());
    expect(calls).toBe(1);
  });

  it("the default templates carry the link once in each of text and HTML, escape HTML, and have no images", () => {
    const words = DEFAULT_MAIL_TEMPLATES.email_change_notice({
      username: "<b>mallory</b>",
      email: "alice@example.com",
      newEmail: "x@evil.example",
      link: LINK,
      expiresInMinutes: 10_080,
    });
    expect(words.text.split(LINK)).toHaveLength(2);
    expect(words.html).toContain(`<a href="${LINK}">`);
    expect(words.html).not.toContain("<b>mallory</b>");
    expect(words.html).toContain("&lt;b&gt;mallory&lt;/b&gt;");
    expect(words.html).not.toMatch(/<img|src=/i);
    expect(words.text).toContain("7 days");
  });
});
