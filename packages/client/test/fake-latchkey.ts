/**
 * A small latchkey behind a fake `fetch`, speaking the routes the client uses as the
 * contract has them: login in both modes, /auth/me, the three refresh forms (memory cookie
 * with X-Requested-With, jwt's refresh cookie and hybrid's session cookie with the CSRF
 * header), logout, logout-all, reauthenticate, and a protected /api/echo. It holds the
 * browser's cookie jar too (one per browser, so every "tab" shares it), sends it only as a
 * browser would (`credentials`), and answers after `latency` ms so racing requests really
 * race. It counts every request, and can expire access tokens or end sessions as the server
 * would.
 */
import { randomUUID } from "node:crypto";

export type Strategy = "session" | "jwt" | "hybrid";
interface Session {
  id: string;
  strategy: Strategy | "memory";
  csrf: string;
  ended: boolean;
  /** Why it ended, told as latchkey does (`Latchkey-Session-Ended`) to its cookie or access token. */
  why?: string;
}
export interface Sent {
  method: string;
  url: string;
  path: string;
  headers: Headers;
  credentials: RequestCredentials;
  body: string;
  cookies: Map<string, string>;
  /** When it was sent, on the (fake) clock. */
  at: number;
}

const USER = { id: "u1", username: "alice", createdAt: "2026-03-01T12:00:00.000Z", roles: ["member"] };
export const PASSWORD = "correct horse";

export class FakeLatchkey {
  readonly log: Sent[] = [];
  /** The browser's cookies for latchkey's origin, shared by every tab. */
  readonly jar = new Map<string, string>();
  readonly sessions = new Map<string, Session>();
  readonly access = new Map<string, { sid: string; exp: number }>();
  readonly refreshTokens = new Map<string, { sid: string; rotatedAt: number | null }>();
  readonly secrets = new Map<string, string>();
  /** What the next refresh answers instead of its work (e.g. 503), once. */
  failNextRefresh: number | null = null;
  /** What the next logout answers instead of its work (e.g. 403), once. */
  failNextLogout: number | null = null;
  /** Sessions of another user than alice (a sign-in as someone else in another app of the browser). */
  readonly otherUser = new Set<string>();

  constructor(
    readonly options: {
      origin?: string;
      /** The page's origin, for `credentials: "same-origin"`; default latchkey's own. */
      pageOrigin?: string;
      prefix?: string;
      strategy?: Strategy;
      accessTtl?: number;
      latency?: number;
      leewayMs?: number;
      /** The code alice's authenticator app shows: her password then opens a pending sign-in (202). */
      secondFactor?: string;
      /** The credential id of the one passkey it accepts (its answers are not checked further). */
      passkey?: string;
    } = {},
  ) {}

  get origin(): string {
    return this.options.origin ?? "https://auth.example";
  }

  /** The requests sent to `path` (after the prefix), with `method`. */
  sent(method: string, path: string): Sent[] {
    return this.log.filter((entry) => entry.method === method && entry.path === path);
  }

  /** Every access token, bearer or cookie, expires now (the clients do not know yet). */
  expireAccess(): void {
    for (const token of this.access.values()) token.exp = Date.now() - 1;
  }

  /** Ends every session; `why` is then told to their credentials, as latchkey tells them. */
  endSessions(why?: string): void {
    for (const session of this.sessions.values()) {
      session.ended = true;
      session.why = why;
    }
  }

  readonly fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const ours = url.origin === this.origin;
    const sameOrigin = (this.options.pageOrigin ?? this.origin) === this.origin;
    const withCookies = request.credentials === "include" || (request.credentials === "same-origin" && sameOrigin);
    const cookies = ours && withCookies ? new Map(this.jar) : new Map<string, string>();
    const path = url.pathname.slice((this.options.prefix ?? "").length);
    const sent: Sent = {
      method: request.method,
      url: request.url,
      path,
      headers: request.headers,
      credentials: request.credentials,
      body: await request.text(),
      cookies,
      at: Date.now(),
    };
    this.log.push(sent);
    await new Promise((resolve) => setTimeout(resolve, this.options.latency ?? 5));
    if (!ours) return Response.json({ thirdParty: true });
    return this.handle(sent);
  };

  private handle(sent: Sent): Response {
    const route = `${sent.method} ${sent.path}`;
    if (route === "POST /auth/login") return this.login(JSON.parse(sent.body));
    if (route === "POST /auth/login/second-factor") return this.secondStep(sent);
    if (route === "POST /auth/passkey/options") {
      const challenge = randomUUID();
      this.jar.set("passkey", challenge);
      return Response.json({ options: { challenge, rpId: "localhost", userVerification: "required" }, expiresIn: 300 });
    }
    if (route === "POST /auth/login/passkey") {
      const body = JSON.parse(sent.body) as { response: { id: string }; mode?: string };
      if (!this.passkeyPasses(sent, body.response)) return refuse(401, "invalid_passkey");
      return this.open(body);
    }
    if (route === "POST /auth/refresh") return this.refresh(sent);
    if (route === "POST /auth/logout") return this.logout(sent);
    if (route === "GET /auth/csrf") {
      const csrf = sent.cookies.get("csrf");
      return csrf ? Response.json({ csrfToken: csrf }) : refuse(401, "unauthenticated");
    }
    const caller = this.authenticate(sent);
    if (caller instanceof Response) return caller;
    if (route === "GET /auth/me") return Response.json(this.me(caller, sent));
    if (route === "POST /auth/logout-all") {
      this.endSessions();
      this.jar.clear();
      return new Response(null, { status: 204 });
    }
    if (route === "POST /auth/reauthenticate") return this.reauthenticate(caller, sent);
    if (sent.path === "/api/echo") return Response.json({ method: sent.method, body: sent.body, session: caller.id });
    return refuse(404, "not_found");
  }

  private login(body: { username: string; password: string; mode?: string }): Response {
    if (body.username === "flood") return refuse(429, "rate_limited", { "retry-after": "7" });
    if (body.username !== USER.username || body.password !== PASSWORD) return refuse(401, "invalid_credentials");
    if (this.options.secondFactor !== undefined) {
      this.jar.set("signin", JSON.stringify(body));
      return Response.json({ secondFactor: { methods: ["totp", "recovery_code"], expiresIn: 300 } }, { status: 202 });
    }
    return this.open(body);
  }

  /** The second step: the pending cookie and the app's code (or the recovery code "rc"), once. */
  private secondStep(sent: Sent): Response {
    const pending = sent.cookies.get("signin");
    if (pending === undefined) return refuse(401, "sign_in_expired");
    const proof = JSON.parse(sent.body) as { code?: string; recoveryCode?: string; passkey?: { id: string } };
    if (proof.passkey !== undefined) {
      if (!this.passkeyPasses(sent, proof.passkey)) return refuse(401, "invalid_passkey");
    } else if (proof.code !== this.options.secondFactor && proof.recoveryCode !== "rc") {
      return refuse(401, "invalid_code");
    }
    this.jar.delete("signin");
    return this.open(JSON.parse(pending));
  }

  /** A passkey answer for this browser's challenge (its cookie, used up) from the one passkey. */
  private passkeyPasses(sent: Sent, answer: { id: string } | undefined): boolean {
    const challenge = sent.cookies.get("passkey");
    this.jar.delete("passkey");
    return challenge !== undefined && answer?.id === this.options.passkey;
  }

  private open(body: { mode?: string }): Response {
    const strategy = body.mode === "memory" ? "memory" : (this.options.strategy ?? "session");
    const session: Session = { id: randomUUID(), strategy, csrf: randomUUID(), ended: false };
    this.sessions.set(session.id, session);
    const view = { user: USER, session: { id: session.id, strategy: strategy === "memory" ? "bearer" : strategy } };
    if (strategy === "memory") {
      this.jar.set("mrt", this.issueRefresh(session.id));
      return Response.json({ ...view, ...this.bearerAnswer(session.id) });
    }
    if (strategy !== "jwt") this.jar.set("sid", this.issueSecret(session.id));
    if (strategy === "jwt") this.jar.set("rt", this.issueRefresh(session.id));
    if (strategy !== "session") this.jar.set("at", this.issueAccess(session.id));
    this.jar.set("csrf", session.csrf);
    const accessExpiresIn = strategy === "session" ? undefined : this.ttl;
    return Response.json({ ...view, csrfToken: session.csrf, accessExpiresIn });
  }

  private refresh(sent: Sent): Response {
    if (this.failNextRefresh !== null) {
      const status = this.failNextRefresh;
      this.failNextRefresh = null;
      return refuse(status, "service_unavailable");
    }
    const csrf = sent.headers.get("x-csrf-token");
    const memory = sent.cookies.get("mrt");
    if (memory !== undefined && csrf === null) {
      if (sent.headers.get("x-requested-with") !== "latchkey") return refuse(403, "csrf_failed");
      const sid = this.rotate(memory);
      if (sid instanceof Response) return sid;
      this.jar.set("mrt", this.issueRefresh(sid));
      return Response.json({
        ...this.bearerAnswer(sid),
        user: this.userOf(sid),
        session: { id: sid, strategy: "memory" },
      });
    }
    const hybrid = this.liveSession(this.secrets.get(sent.cookies.get("sid") ?? ""));
    if (this.options.strategy === "hybrid" && hybrid) {
      if (csrf !== hybrid.csrf) return refuse(403, "csrf_failed");
      this.jar.set("at", this.issueAccess(hybrid.id));
      return Response.json({ token_type: "Bearer", expires_in: this.ttl });
    }
    const record = this.refreshTokens.get(sent.cookies.get("rt") ?? "");
    if (record && csrf !== this.sessions.get(record.sid)?.csrf) return refuse(403, "csrf_failed");
    const sid = this.rotate(sent.cookies.get("rt") ?? "");
    if (sid instanceof Response) return sid;
    this.jar.set("rt", this.issueRefresh(sid));
    this.jar.set("at", this.issueAccess(sid));
    return Response.json({ token_type: "Bearer", expires_in: this.ttl });
  }

  /** Retires a refresh token; a duplicate within the leeway is refused but ends nothing. */
  private rotate(token: string): string | Response {
    const record = this.refreshTokens.get(token);
    if (!record || !this.liveSession(record.sid)) return refuse(401, "invalid_grant");
    if (record.rotatedAt !== null) {
      if (Date.now() - record.rotatedAt > (this.options.leewayMs ?? 10_000))
        this.sessions.get(record.sid)!.ended = true;
      return refuse(401, "invalid_grant");
    }
    record.rotatedAt = Date.now();
    return record.sid;
  }

  private userOf(sid: string) {
    return this.otherUser.has(sid) ? { ...USER, id: "u2", username: "bob" } : USER;
  }

  private logout(sent: Sent): Response {
    if (this.failNextLogout !== null) {
      const status = this.failNextLogout;
      this.failNextLogout = null;
      return refuse(status, status === 403 ? "csrf_failed" : "service_unavailable");
    }
    const caller = this.authenticate(sent);
    if (caller instanceof Response && caller.status === 403) return caller;
    if (caller instanceof Response) {
      const memory = this.refreshTokens.get(sent.cookies.get("mrt") ?? "");
      if (memory && sent.headers.get("x-requested-with") === "latchkey") this.sessions.get(memory.sid)!.ended = true;
    } else caller.ended = true;
    this.jar.clear();
    return new Response(null, { status: 204 });
  }

  /** The caller's session, or the refusal latchkey would answer. */
  private authenticate(sent: Sent): Session | Response {
    const bearer = /^Bearer (.+)$/.exec(sent.headers.get("authorization") ?? "")?.[1];
    if (bearer !== undefined) return this.liveAccess(bearer) ?? refuse(401, "invalid_token", this.whyOf(bearer));
    const strategy = this.options.strategy ?? "session";
    const sid = this.secrets.get(sent.cookies.get("sid") ?? "");
    const session = strategy === "jwt" ? this.liveAccess(sent.cookies.get("at") ?? "") : this.liveSession(sid);
    if (!session) {
      const why = strategy === "jwt" ? this.whyOf(sent.cookies.get("at") ?? "") : this.whyOfSession(sid);
      return refuse(401, "unauthenticated", why);
    }
    if (sent.method !== "GET" && sent.headers.get("x-csrf-token") !== session.csrf) return refuse(403, "csrf_failed");
    return session;
  }

  /** The password again: a bearer caller gets a new token, a `jwt`/`hybrid` cookie a new access cookie. */
  private reauthenticate(session: Session, sent: Sent): Response {
    const body = JSON.parse(sent.body) as { password?: string; code?: string; passkey?: { id: string } };
    let amr: string[];
    if (body.passkey !== undefined) {
      if (!this.passkeyPasses(sent, body.passkey)) return refuse(401, "invalid_passkey");
      amr = ["hwk", "mfa"];
    } else {
      if (body.password !== PASSWORD) return refuse(401, "invalid_credentials");
      const factor = this.options.secondFactor;
      if (factor !== undefined && body.code !== factor) return refuse(401, "invalid_code");
      amr = factor === undefined ? ["pwd"] : ["mfa", "otp", "pwd"];
    }
    const answer = { authTime: new Date().toISOString(), amr, reauthWindow: 600 };
    if (sent.headers.has("authorization")) return Response.json({ ...answer, ...this.bearerAnswer(session.id) });
    if (session.strategy === "session") return Response.json(answer);
    this.jar.set("at", this.issueAccess(session.id));
    return Response.json({ ...answer, accessExpiresIn: this.ttl });
  }

  private me(session: Session, sent: Sent) {
    const cookie = !sent.headers.has("authorization");
    const at = this.access.get(sent.cookies.get("at") ?? "");
    return {
      user: USER,
      session: { id: session.id, strategy: session.strategy === "memory" ? "bearer" : session.strategy },
      csrfToken: cookie ? session.csrf : undefined,
      accessExpiresIn: cookie && at ? Math.floor((at.exp - Date.now()) / 1000) : undefined,
      permissions: [],
    };
  }

  private get ttl(): number {
    return this.options.accessTtl ?? 60;
  }
  private liveSession(sid: string | undefined): Session | null {
    const session = sid === undefined ? undefined : this.sessions.get(sid);
    return session && !session.ended ? session : null;
  }
  /** The header latchkey adds to the refusal of an access token whose session ended, with a reason. */
  private whyOf(token: string): Record<string, string> {
    return this.whyOfSession(this.access.get(token)?.sid);
  }
  private whyOfSession(sid: string | undefined): Record<string, string> {
    const why = sid === undefined ? undefined : this.sessions.get(sid)?.why;
    return why ? { "latchkey-session-ended": why } : {};
  }
  private liveAccess(token: string): Session | null {
    const access = this.access.get(token);
    return access && access.exp > Date.now() ? this.liveSession(access.sid) : null;
  }
  private issueAccess(sid: string): string {
    const token = `at-${randomUUID()}`;
    this.access.set(token, { sid, exp: Date.now() + this.ttl * 1000 });
    return token;
  }
  private issueRefresh(sid: string): string {
    const token = `rt-${randomUUID()}`;
    this.refreshTokens.set(token, { sid, rotatedAt: null });
    return token;
  }
  private issueSecret(sid: string): string {
    const secret = `sid-${randomUUID()}`;
    this.secrets.set(secret, sid);
    return secret;
  }
  private bearerAnswer(sid: string) {
    return { access_token: this.issueAccess(sid), token_type: "Bearer", expires_in: this.ttl };
  }
}

function refuse(status: number, code: string, headers: Record<string, string> = {}): Response {
  return Response.json({ error: { code, message: `refused: ${code}` } }, { status, headers });
}
