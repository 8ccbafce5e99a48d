/**
 * A real SMTP server for tests (smtp-server on 127.0.0.1, plain SMTP, no authentication
 * needed): what latchkey mails arrives here, parsed by mailparser, so a test reads the
 * message a user would get and follows its link.
 *
 * @example
 * const smtp = await startSmtp();
 * const env = { SMTP_URL: smtp.url };
 * // ... something mails alice@example.com ...
 * const mail = await smtp.next("alice@example.com");
 * const token = linkIn(mail, "/reset-password");
 * await smtp.close();
 */
import type { AddressInfo } from "node:net";
import { type ParsedMail, simpleParser } from "mailparser";
import { SMTPServer } from "smtp-server";

/** A running test SMTP server. */
export interface TestSmtp {
  port: number;
  /** `smtp://127.0.0.1:<port>`: what `SMTP_URL` is set to. */
  url: string;
  /** Every message received, in order of arrival. */
  messages: ParsedMail[];
  /**
   * The next message (to `to`, when given: an envelope recipient, any case) not yet
   * returned by `next`, waiting up to `timeoutMs` (default 5000) for it to arrive.
   */
  next(to?: string, timeoutMs?: number): Promise<ParsedMail>;
  /** From now on, every message is refused with `451` (a mail server that is up but failing). */
  stop(): void;
  /** Shuts the server down (later connections are refused); safe to call twice. */
  close(): Promise<void>;
}

interface Received {
  mail: ParsedMail;
  recipients: string[];
  taken: boolean;
}

/**
 * Starts the server on a free port of 127.0.0.1.
 *
 * @example
 * const smtp = await startSmtp();
 */
export async function startSmtp(): Promise<TestSmtp> {
  const received: Received[] = [];
  const messages: ParsedMail[] = [];
  const waiters = new Set<() => void>();
  let refusing = false;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    // Connections a client keeps open (a pool) are closed after this, not the default 30 s.
    closeTimeout: 500,
    onData(stream, session, callback) {
      if (refusing) {
        stream.resume();
        stream.on("end", () => callback(Object.assign(new Error("try again later"), { responseCode: 451 })));
        return;
      }
      const recipients = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
      simpleParser(stream).then(
        (mail) => {
          received.push({ mail, recipients, taken: false });
          messages.push(mail);
          for (const wake of waiters) wake();
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  // A client that drops its connection is no test failure (and, unheard, would crash the run).
  server.on("error", () => {});
  const { port } = server.server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  const take = (to: string | undefined): ParsedMail | undefined => {
    const found = received.find((r) => !r.taken && (to === undefined || r.recipients.includes(to.toLowerCase())));
    if (found) found.taken = true;
    return found?.mail;
  };

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    messages,
    next(to, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const mail = take(to);
          if (!mail) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(mail);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no mail${to ? ` to ${to}` : ""} within ${timeoutMs} ms (${messages.length} received)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    stop() {
      refusing = true;
    },
    close() {
      closing ??= new Promise((resolve) => server.close(() => resolve()));
      return closing;
    },
  };
}

/**
 * The token of the link to `path` (`/reset-password`, `/verify-email`, `/revert-email`) in
 * a message's text body: what follows `<path>#token=`. Throws when there is none.
 *
 * @example
 * linkIn(mail, "/reset-password"); // "AbC…22 chars.…43 chars"
 */
export function linkIn(mail: ParsedMail, path: string): string {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`${escaped}#token=([A-Za-z0-9_.-]+)`).exec(mail.text ?? "");
  if (!match?.[1]) throw new Error(`no ${path}#token= link in the message "${mail.subject ?? ""}"`);
  return match[1];
}
