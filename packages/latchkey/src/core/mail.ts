/**
 * Mail: the port latchkey sends through (a function a host supplies), the templates of its
 * three messages, and the queue that sends them off the request path and retries.
 *
 * Why a queue: an answer must not depend on whether a mail went out. `POST
 * /auth/password/forgot` answers the same for an unknown address as for a known one, and
 * the same when the SMTP server is down; so the request only puts the message on the
 * queue, and a failed send is logged and tried again later, never reported to the caller.
 * The queue lives in the process: a message still waiting when the process stops is lost
 * (`docs/accounts.md` says so; the user asks again).
 */
import type { LinkPurpose } from "./records.js";

/**
 * What latchkey mails.
 * @example
 * const kind: MailKind = "reset_password";
 */
export type MailKind = "verify_email" | "reset_password" | "email_change_notice";

/**
 * One message, ready to send: plain text and HTML of the same content, no images, no
 * tracking, every link a plain link to the app.
 * @example
 * const sent: MailMessage[] = [];
 * const transport: MailTransport = async (message: MailMessage) => {
 *   sent.push(message);
 * };
 */
export interface MailMessage {
  kind: MailKind;
  to: string;
  from: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * Sends one message; rejects when it was not accepted (it is then retried).
 * @example
 * // An HTTP mail API; with nodemailer: (message) => transporter.sendMail(message).then(() => {})
 * const transport: MailTransport = async (message) => {
 *   const response = await fetch("https://mail.example/send", { method: "POST", body: JSON.stringify(message) });
 *   if (!response.ok) throw new Error(`mail API answered ${response.status}`);
 * };
 */
export type MailTransport = (message: MailMessage) => Promise<void>;

/**
 * The logger mail failures go to: pino's, or anything with its `(object, message)` shape.
 * @example
 * const log: MailLog = { info: () => {}, warn: (o, m) => console.warn(m, o), error: (o, m) => console.error(m, o) };
 */
export interface MailLog {
  info(object: Record<string, unknown>, message: string): void;
  warn(object: Record<string, unknown>, message: string): void;
  error(object: Record<string, unknown>, message: string): void;
}

/**
 * What a template is given. `link` is the single-use link (its token is a secret: a
 * template puts it in the message and nowhere else).
 * @example
 * const context: MailContext = { username: "alice", email: "alice@example.com", link: "https://app.example/reset-password#token=…", expiresInMinutes: 30 };
 */
export interface MailContext {
  username: string;
  /** The address the message goes to. */
  email: string;
  link: string;
  /** How long the link works, in whole minutes. */
  expiresInMinutes: number;
  /** `email_change_notice` only: the new address asked for. */
  newEmail?: string;
}

/**
 * A message's words.
 * @example
 * const content: MailContent = { subject: "Hello", text: "Hello", html: "<p>Hello</p>" };
 */
export interface MailContent {
  subject: string;
  text: string;
  html: string;
}

/**
 * The three messages; an app may replace any of them (`mail.templates`).
 * @example
 * const templates: Partial<MailTemplates> = {
 *   reset_password: (c) => ({ subject: "Reset your Acme password", text: `Open ${c.link}`, html: `<a href="${c.link}">Reset</a>` }),
 * };
 */
export type MailTemplates = Record<MailKind, (context: MailContext) => MailContent>;

/**
 * The mail set-up of `createAuth` (`docs/accounts.md`, "Plugging in a transport").
 * @example
 * const mail: MailOptions = {
 *   transport: async (message) => console.log("would send", message.subject, "to", message.to),
 *   from: "Acme <no-reply@acme.example>",
 *   links: { reset_password: (token) => `https://acme.example/account/reset#token=${token}` },
 * };
 */
export interface MailOptions {
  transport: MailTransport;
  /** The `From` of every message: `"Acme <no-reply@acme.example>"`. */
  from: string;
  /**
   * The page each link opens, given the token. Default: the issuer's `/verify-email`,
   * `/reset-password` and `/revert-email`, the token in the fragment (`#token=`), which
   * no server log or `Referer` ever sees.
   */
  links?: Partial<Record<LinkPurpose, (token: string) => string>>;
  templates?: Partial<MailTemplates>;
  /** The waits before each retry of a failed send, ms. Default 1 s, 5 s, 30 s, 2 min, 10 min. */
  retryDelaysMs?: readonly number[];
  /** Where sends, failures and give-ups are logged. Default: failures as process warnings. */
  log?: MailLog;
}

/**
 * The retries of a failed send: five, over about 13 minutes.
 * @example
 * const mail: MailOptions = { transport: async () => {}, from: "no-reply@app.example", retryDelaysMs: DEFAULT_RETRY_DELAYS_MS.slice(0, 2) };
 */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1000, 5000, 30_000, 120_000, 600_000];

/** Messages that may wait at once; more are dropped (logged), so a flood cannot fill memory. */
const MAX_QUEUED = 1000;

/**
 * The default templates: short, plain, the link on its own line.
 * @example
 * const templates: Partial<MailTemplates> = {
 *   verify_email: (c) => ({ ...DEFAULT_MAIL_TEMPLATES.verify_email(c), subject: "Welcome to Acme: confirm your address" }),
 * };
 */
export const DEFAULT_MAIL_TEMPLATES: Readonly<MailTemplates> = {
  verify_email: (c) =>
    content(
      "Confirm your email address",
      [
        `Hello ${c.username},`,
        `Please confirm that ${c.email} is your address by opening this link:`,
        c.link,
        `It works once, for ${duration(c.expiresInMinutes)}. If you did not ask for it, ignore this message.`,
      ],
      c.link,
    ),
  reset_password: (c) =>
    content(
      "Reset your password",
      [
        `Hello ${c.username},`,
        "Somebody (we hope you) asked to reset the password of your account. To choose a new one, open this link:",
        c.link,
        `It works once, for ${duration(c.expiresInMinutes)}, and signs you out everywhere. If you did not ask for it, ignore this message: your password stays as it is.`,
      ],
      c.link,
    ),
  email_change_notice: (c) =>
    content(
      "Your email address is being changed",
      [
        `Hello ${c.username},`,
        `Somebody signed in to your account asked to change its email address from ${c.email} to ${c.newEmail ?? "another address"}.`,
        "If that was you, there is nothing to do. If it was not, open this link: it keeps this address, signs everybody out of the account and mails you a link to choose a new password.",
        c.link,
        `It works once, for ${duration(c.expiresInMinutes)}.`,
      ],
      c.link,
    ),
};

function duration(minutes: number): string {
  if (minutes % 1440 === 0) return plural(minutes / 1440, "day");
  if (minutes % 60 === 0) return plural(minutes / 60, "hour");
  return plural(minutes, "minute");
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

/** Text and HTML of the same paragraphs; the line equal to `link` becomes the one anchor. */
function content(subject: string, paragraphs: string[], link: string): MailContent {
  const html = paragraphs
    .map((p) =>
      p === link ? `<p><a href="${escapeHtml(link)}">${escapeHtml(link)}</a></p>` : `<p>${escapeHtml(p)}</p>`,
    )
    .join("\n");
  return {
    subject,
    text: `${paragraphs.join("\n\n")}\n`,
    html: `<!doctype html>\n<html><body>\n${html}\n</body></html>\n`,
  };
}

/**
 * HTML-escapes text for a template (a username or an address is the user's input).
 * @example
 * escapeHtml("<b>"); // "&lt;b&gt;"
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] ?? c);
}

const HTML_ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * An address as a log may show it: the first character of the local part and the domain.
 * @example
 * maskEmail("alice@example.com"); // "a***@example.com"
 */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  if (at < 1) return "***";
  return `${email.slice(0, 1)}***${email.slice(at)}`;
}

/** Failures as process warnings, when the host gave no logger. */
const warningLog: MailLog = {
  info: () => {},
  warn: (object, message) => process.emitWarning(`latchkey: ${message} ${JSON.stringify(object)}`, "LatchkeyWarning"),
  error: (object, message) => process.emitWarning(`latchkey: ${message} ${JSON.stringify(object)}`, "LatchkeyWarning"),
};

/**
 * The queue: `send` returns at once; the transport is called in the background and, when
 * it fails, again after each of `retryDelaysMs`. Logs carry the kind, the masked address
 * and the transport's error message: never the body, which holds the link.
 *
 * @example
 * const mailer = new Mailer({ transport: async () => {} });
 * mailer.send({ kind: "verify_email", to: "alice@example.com", from: "no-reply@acme.example", subject: "Hi", text: "Hi", html: "<p>Hi</p>" });
 * await mailer.idle();
 */
export class Mailer {
  readonly #transport: MailTransport;
  readonly #delays: readonly number[];
  readonly #log: MailLog;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #pending = new Set<Promise<void>>();
  #waiting = 0;
  #closed = false;
  #idle: (() => void)[] = [];

  constructor(options: Pick<MailOptions, "transport" | "retryDelaysMs" | "log">) {
    this.#transport = options.transport;
    this.#delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.#log = options.log ?? warningLog;
  }

  /** Queues a message. */
  send(message: MailMessage): void {
    if (this.#closed) return;
    if (this.#waiting >= MAX_QUEUED) {
      this.#log.error({ kind: message.kind, to: maskEmail(message.to) }, "mail dropped: the queue is full");
      return;
    }
    this.#waiting += 1;
    this.#attempt(message, 0);
  }

  /**
   * Sends one message now and waits for it (the CLI's reset link): the transport's
   * error, if any, is thrown to the caller instead of retried.
   */
  async sendNow(message: MailMessage): Promise<void> {
    await this.#transport(message);
    this.#log.info({ kind: message.kind, to: maskEmail(message.to) }, "mail sent");
  }

  /** Resolves when no message waits or is being sent (tests; shutdown). */
  idle(): Promise<void> {
    if (this.#waiting === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Drops the retries still waiting (logged) and waits for sends in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    const dropped = this.#timers.size;
    this.#timers.clear();
    await Promise.allSettled([...this.#pending]);
    if (dropped > 0) this.#log.warn({ dropped }, "mail retries dropped at shutdown");
    this.#waiting = 0;
    this.#settle();
  }

  #attempt(message: MailMessage, failures: number): void {
    const run = this.#transport(message).then(
      () => {
        this.#log.info({ kind: message.kind, to: maskEmail(message.to), attempt: failures + 1 }, "mail sent");
        this.#done();
      },
      (error: unknown) => this.#failed(message, failures + 1, error),
    );
    const tracked = run.finally(() => this.#pending.delete(tracked));
    this.#pending.add(tracked);
  }

  #failed(message: MailMessage, failures: number, error: unknown): void {
    const about = { kind: message.kind, to: maskEmail(message.to), attempt: failures, error: reason(error) };
    const delay = this.#delays[failures - 1];
    if (delay === undefined || this.#closed) {
      this.#log.error(about, "mail not sent: giving up");
      this.#done();
      return;
    }
    this.#log.warn({ ...about, retryInMs: delay }, "mail not sent: will retry");
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.#attempt(message, failures);
    }, delay);
    timer.unref();
    this.#timers.add(timer);
  }

  #done(): void {
    this.#waiting = Math.max(0, this.#waiting - 1);
    this.#settle();
  }

  #settle(): void {
    if (this.#waiting > 0) return;
    const waiting = this.#idle;
    this.#idle = [];
    for (const resolve of waiting) resolve();
  }
}

/** A transport's error as a log line may carry it: its message, never its object. */
function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.slice(0, 300);
}
