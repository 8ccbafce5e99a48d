/**
 * The server's mail transports: SMTP when `SMTP_URL` is set, otherwise an outbox folder
 * of `.eml` files (development, tests, a machine with no mail server).
 *
 * Why nodemailer: it is the maintained, standard mail library of Node; it speaks SMTP with
 * TLS (`smtps://`) and STARTTLS, authentication and a connection pool, and it builds the
 * RFC 822 message itself, so the outbox writes the very bytes SMTP would have sent. Writing
 * MIME by hand (encodings, line lengths, headers a user's input can reach) is how mail
 * code goes wrong. It is imported on the first message, so the administration commands
 * that never mail never load it.
 *
 * What is never logged: a message's body and its link (a live token). A log line names the
 * kind, the masked address and, for the outbox, the file.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { type MailMessage, type MailTransport, maskEmail } from "latchkey";
import type { Config } from "./config.js";

/** The logger the transports write to (pino's shape). */
export interface MailTransportLog {
  info(object: Record<string, unknown>, message: string): void;
  warn(object: Record<string, unknown>, message: string): void;
}

/** A transport the server closes at shutdown (the SMTP pool's connections). */
export type ClosableTransport = MailTransport & {
  /** What the start log says of it: the SMTP server (never its credentials) or the folder. */
  readonly describe:
    | { transport: "smtp"; server: string }
    | { transport: "outbox"; dir: string }
    | { transport: "given" };
  close(): Promise<void>;
};

type Nodemailer = typeof import("nodemailer");
let loaded: Promise<Nodemailer> | undefined;
const nodemailer = (): Promise<Nodemailer> => {
  loaded ??= import("nodemailer");
  return loaded;
};

/** The message as nodemailer takes it: only what latchkey wrote, no header of its own. */
function envelope(message: MailMessage) {
  return { to: message.to, from: message.from, subject: message.subject, text: message.text, html: message.html };
}

/**
 * Sends through an SMTP server, over one pooled transporter (connections are reused
 * between messages and closed by `close()`).
 *
 * @example
 * const transport = smtpTransport("smtps://user:pass@smtp.example.com", log);
 * await createAuth({ stores, mail: { transport, from: "Acme <no-reply@acme.example>" } });
 * await transport.close();
 */
export function smtpTransport(url: string, log: MailTransportLog): ClosableTransport {
  let transporter: Promise<import("nodemailer").Transporter> | undefined;
  const open = () => {
    transporter ??= nodemailer().then((mailer) => {
      const created = mailer.createTransport({
        url,
        pool: true,
        // Messages are latchkey's own text and HTML: nothing may pull in a file or a URL.
        disableFileAccess: true,
        disableUrlAccess: true,
      });
      // An idle pool's connection error is reported here rather than on a send: logged, never thrown.
      created.on("error", (error: Error) => log.warn({ error: error.message }, "smtp connection error"));
      return created;
    });
    return transporter;
  };
  const send = async (message: MailMessage): Promise<void> => {
    await (await open()).sendMail(envelope(message));
  };
  return Object.assign(send, {
    describe: { transport: "smtp" as const, server: smtpServer(url) },
    async close() {
      if (transporter) (await transporter).close();
    },
  });
}

/**
 * `host:port` of the server `url` connects to, as nodemailer picks the port (465 for
 * smtps, else 587): what a log may say of the URL, whose credentials it never shows.
 *
 * @example
 * smtpServer("smtps://user:secret@smtp.example.com"); // "smtp.example.com:465"
 */
export function smtpServer(url: string): string {
  const parsed = new URL(url);
  const port = parsed.port === "" ? (parsed.protocol === "smtps:" ? 465 : 587) : Number(parsed.port);
  return `${parsed.hostname}:${port}`;
}

/**
 * Writes each message to `<dir>/<time>-<kind>-<random>.eml`, readable by its owner only
 * (it holds a live link), and logs the file's path. Any mail client opens the file.
 *
 * @example
 * const transport = outboxTransport("./data/outbox", log);
 * await transport({ kind: "verify_email", to: "alice@example.com", from, subject, text, html });
 * // log: {"path":"data/outbox/20250101T120000.000Z-verify_email-1a2b3c4d.eml",...} mail written to the outbox
 */
export function outboxTransport(dir: string, log: MailTransportLog): ClosableTransport {
  const folder = resolve(dir);
  let transporter: Promise<import("nodemailer").Transporter> | undefined;
  const send = async (message: MailMessage): Promise<void> => {
    transporter ??= nodemailer().then((mailer) =>
      mailer.createTransport({ streamTransport: true, buffer: true, newline: "unix" }),
    );
    const info = await (await transporter).sendMail(envelope(message));
    await mkdir(folder, { recursive: true, mode: 0o700 });
    const path = join(folder, outboxName(message));
    // `wx`: a name taken by chance fails rather than overwrites another message.
    await writeFile(path, info.message as Buffer, { mode: 0o600, flag: "wx" });
    log.info({ path, kind: message.kind, to: maskEmail(message.to) }, "mail written to the outbox");
  };
  return Object.assign(send, {
    describe: { transport: "outbox" as const, dir: folder },
    async close() {},
  });
}

/** Sorts by time; no `:` (which some file systems refuse). */
function outboxName(message: MailMessage): string {
  const time = new Date().toISOString().replace(/[-:]/g, "");
  return `${time}-${message.kind}-${randomBytes(4).toString("hex")}.eml`;
}

/**
 * The configured transport: SMTP when `SMTP_URL` is set, else the outbox folder.
 *
 * @example
 * const transport = configuredTransport(config, log);
 * log.info(transport.describe, "mail transport");
 */
export function configuredTransport(
  config: Pick<Config, "smtpUrl" | "mailOutbox">,
  log: MailTransportLog,
): ClosableTransport {
  return config.smtpUrl ? smtpTransport(config.smtpUrl, log) : outboxTransport(config.mailOutbox, log);
}

/**
 * A transport the host supplies (tests capture messages in the process); closing it is
 * the host's business.
 *
 * @example
 * const sent: MailMessage[] = [];
 * await buildServer({ config, mailTransport: async (m) => void sent.push(m) });
 */
export function givenTransport(transport: MailTransport): ClosableTransport {
  return Object.assign((message: MailMessage) => transport(message), {
    describe: { transport: "given" as const },
    async close() {},
  });
}

/**
 * The start log's words for a transport: never the SMTP credentials.
 *
 * @example
 * describeTransport(smtpTransport("smtp://u:p@mail.example:2525", log).describe); // "SMTP server mail.example:2525"
 */
export function describeTransport(describe: ClosableTransport["describe"]): string {
  switch (describe.transport) {
    case "smtp":
      return `SMTP server ${describe.server}`;
    case "outbox":
      return `no SMTP_URL: each message is written to ${describe.dir}`;
    case "given":
      return "the transport given to buildServer";
  }
}
