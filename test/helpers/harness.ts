/**
 * An in-process latchkey server for HTTP tests: the real app (`buildServer`) on SQLite in
 * memory, a frozen clock, and a log captured in memory so tests can read every line.
 * Requests go through `app.inject`, the whole Fastify stack without a socket.
 */
import { Writable } from "node:stream";
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from "fastify";
import pino from "pino";
import { type ManualClock, manualClock } from "../../packages/latchkey/src/core/clock.js";
import type { MailMessage } from "../../packages/latchkey/src/core/mail.js";
import { argon2Hasher, type PasswordHasher } from "../../packages/latchkey/src/core/password-hasher.js";
import type { Stores } from "../../packages/latchkey/src/core/ports.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import { loadConfig } from "../../packages/server/src/app/config.js";
import { loggerOptions } from "../../packages/server/src/app/logging.js";
import { buildServer, type Server } from "../../packages/server/src/app/server.js";

export const ORIGIN = "http://localhost:3000";
export const PASSWORD = "correct horse battery staple";
/** An administrative action's caller as the CLI makes it: no user, no address. */
export const OPERATOR = { actor: null, ip: "", userAgent: "latchkey-cli" };

export interface Harness {
  app: FastifyInstance;
  server: Server;
  clock: ManualClock;
  stores: Stores;
  /** Every log line written so far, raw JSON. */
  logs: string[];
  /**
   * The mail the server sent, when the test set neither `SMTP_URL` nor `MAIL_OUTBOX`: kept
   * here by a transport function (the library's port), never written into the checkout.
   */
  mails: MailMessage[];
  client(defaults?: { ip?: string; userAgent?: string }): Client;
  close(): Promise<void>;
}

/**
 * @example
 * const h = await startHarness({ SESSION_IDLE_TIMEOUT: "60" });
 * const alice = h.client();
 * await alice.signUpAndLogIn("alice");
 */
export async function startHarness(
  env: Record<string, string> = {},
  options: { hasher?: PasswordHasher } = {},
): Promise<Harness> {
  const config = loadConfig({
    DATABASE_URL: "sqlite::memory:",
    PUBLIC_ORIGIN: ORIGIN,
    LOG_LEVEL: "debug",
    // Test files register dozens of users from one address; the limit has its own tests.
    REGISTER_ADDRESS_MAX: "100000",
    ...env,
  });
  const clock = manualClock(Date.parse("2026-03-01T12:00:00.000Z"));
  const stores = await openSqliteStores({ path: ":memory:" });
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      logs.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  // The production logger options, writing to memory instead of stdout.
  const logger = pino(loggerOptions("trace"), stream);
  const mails: MailMessage[] = [];
  const ownMail = env.SMTP_URL === undefined && env.MAIL_OUTBOX === undefined;
  const mailTransport = ownMail ? async (message: MailMessage) => void mails.push(message) : undefined;
  const server = await buildServer({ config, stores, clock, logger, hasher: options.hasher, mailTransport });
  return {
    app: server.app,
    server,
    clock,
    stores,
    logs,
    mails,
    client: (defaults) => new Client(server.app, defaults),
    close: () => server.close(),
  };
}

/** One browser (or script): a cookie jar, its address, and helpers for the common flows. */
export class Client {
  readonly cookies = new Map<string, string>();
  csrfToken: string | undefined;
  readonly #app: FastifyInstance;
  ip: string;
  userAgent: string;

  constructor(app: FastifyInstance, defaults: { ip?: string; userAgent?: string } = {}) {
    this.#app = app;
    this.ip = defaults.ip ?? "127.0.0.1";
    this.userAgent = defaults.userAgent ?? "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36";
  }

  /**
   * Another browser (the default address and user agent) holding a copy of this one's
   * cookies and CSRF token as they are now: a stolen cookie, a second tab.
   */
  copy(): Client {
    const copy = new Client(this.#app);
    for (const [name, value] of this.cookies) copy.cookies.set(name, value);
    copy.csrfToken = this.csrfToken;
    return copy;
  }

  /** A same-origin request with this client's cookies (and CSRF token on unsafe methods). */
  async request(options: {
    method: InjectOptions["method"];
    url: string;
    body?: unknown;
    headers?: Record<string, string>;
    csrf?: boolean;
    cookies?: boolean;
  }): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = { "user-agent": this.userAgent, ...options.headers };
    const unsafe = !["GET", "HEAD", "OPTIONS"].includes(String(options.method));
    if (unsafe && headers.origin === undefined) headers.origin = ORIGIN;
    if (unsafe && (options.csrf ?? true) && this.csrfToken && headers["x-csrf-token"] === undefined) {
      headers["x-csrf-token"] = this.csrfToken;
    }
    if ((options.cookies ?? true) && this.cookies.size > 0 && headers.cookie === undefined) {
      headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    }
    const inject: InjectOptions = { method: options.method, url: options.url, headers, remoteAddress: this.ip };
    if (options.body !== undefined) {
      inject.payload = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
      headers["content-type"] ??= "application/json";
    }
    const response = await this.#app.inject(inject);
    this.#absorb(response);
    return response;
  }

  get(url: string, headers?: Record<string, string>) {
    return this.request({ method: "GET", url, headers });
  }

  post(url: string, body?: unknown, headers?: Record<string, string>) {
    return this.request({ method: "POST", url, body, headers });
  }

  async register(username: string, password = PASSWORD) {
    return this.post("/auth/register", { username, password });
  }

  async login(username: string, password = PASSWORD, remember?: boolean) {
    const response = await this.post("/auth/login", {
      username,
      password,
      ...(remember !== undefined && { remember }),
    });
    if (response.statusCode === 200) this.csrfToken = response.json().csrfToken;
    return response;
  }

  /** `POST /auth/token`: an API client's login. */
  async token(username: string, password = PASSWORD) {
    const response = await this.request({
      method: "POST",
      url: "/auth/token",
      body: { username, password },
      cookies: false,
    });
    return response;
  }

  /** A bearer request (no cookies, no CSRF token). */
  bearer(method: InjectOptions["method"], url: string, accessToken: string, body?: unknown) {
    return this.request({
      method,
      url,
      body,
      cookies: false,
      csrf: false,
      headers: { authorization: `Bearer ${accessToken}` },
    });
  }

  /** `POST /auth/refresh` with a body token. */
  refresh(refreshToken: string) {
    return this.request({
      method: "POST",
      url: "/auth/refresh",
      body: { refresh_token: refreshToken },
      cookies: false,
      csrf: false,
    });
  }

  /** Registers and logs in; fails the test if either step does. */
  async signUpAndLogIn(username: string, password = PASSWORD, remember?: boolean) {
    const registered = await this.register(username, password);
    if (registered.statusCode !== 201) throw new Error(`register ${username}: ${registered.body}`);
    const loggedIn = await this.login(username, password, remember);
    if (loggedIn.statusCode !== 200) throw new Error(`login ${username}: ${loggedIn.body}`);
    return loggedIn.json() as { user: { id: string }; session: { id: string }; csrfToken: string };
  }

  #absorb(response: LightMyRequestResponse) {
    for (const cookie of response.cookies as Array<{ name: string; value: string; maxAge?: number }>) {
      if (cookie.maxAge === 0 || cookie.value === "") this.cookies.delete(cookie.name);
      else this.cookies.set(cookie.name, cookie.value);
    }
  }
}

/** The `Set-Cookie` header lines of a response. */
export function setCookieLines(response: LightMyRequestResponse): string[] {
  const header = response.headers["set-cookie"];
  if (header === undefined) return [];
  return Array.isArray(header) ? header : [header];
}

/** A unique username for a test. */
let counter = 0;
export function uniqueName(prefix = "user"): string {
  counter += 1;
  return `${prefix}${process.pid % 1000}x${counter}`;
}

/** The real argon2id hasher, counting its calls. */
export function countingHasher() {
  const inner = argon2Hasher();
  const calls = { hash: 0, verify: 0 };
  const hasher: PasswordHasher = {
    hash(password) {
      calls.hash++;
      return inner.hash(password);
    },
    verify(stored, password) {
      calls.verify++;
      return inner.verify(stored, password);
    },
    needsRehash: (stored) => inner.needsRehash(stored),
  };
  return { hasher, calls };
}
