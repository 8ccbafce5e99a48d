/**
 * A verifier for services that trust latchkey's access tokens: the signature is checked
 * locally with the JWKS (no call to latchkey per request), the claims as latchkey's own
 * routes check them, and the token is refused as soon as its session has ended anywhere,
 * from the revocation feed the verifier follows in the background (its event stream, or
 * polled where latchkey cannot stream). No framework and no
 * driver: jose and `fetch`.
 *
 * While the feed cannot be read for longer than `tolerateMs`, the verifier fails closed
 * (every token refused with 503: a service cannot tell an ended session from a live one)
 * unless the service chose `whenFeedDown: "open"` (accept until `exp`). When the feed lost
 * its history (`reset`), tokens issued before are confirmed by introspection for one
 * token lifetime.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from "jose";

/**
 * Options of `createVerifier`.
 * @example
 * const options: VerifierOptions = {
 *   issuer: "https://auth.example",
 *   credentials: { clientId: "svc_...", clientSecret: "..." },
 *   whenFeedDown: "open",
 * };
 * const verifier = createVerifier(options);
 */
export interface VerifierOptions {
  /** latchkey's `PUBLIC_ORIGIN`: the tokens' `iss`. */
  issuer: string;
  /** The tokens' `aud`. Default: the issuer (latchkey's own). */
  audience?: string;
  /** Where latchkey answers, when not at the issuer (a private address). Default: the issuer. */
  baseUrl?: string;
  /** latchkey's route prefix (`prefix` of its adapters). Default `""`. */
  prefix?: string;
  /** The service's credentials (`latchkey services create`), for the feed and introspection. */
  credentials: { clientId: string; clientSecret: string };
  /** Which tokens pass: users' (default), services', or both. */
  accept?: "user" | "service" | "both";
  /**
   * `stream` (default): subscribe to the feed's Server-Sent Events, pushed as latchkey
   * learns of each change; `poll`: read it every `pollIntervalMs`. A latchkey (or proxy)
   * that does not stream is polled.
   */
  follow?: "stream" | "poll";
  /** How often the feed is read when polled, and the delay before a broken stream reconnects, ms. Default 500. */
  pollIntervalMs?: number;
  /** How long the feed may be unreadable before `whenFeedDown` applies, ms. Default 5000. */
  tolerateMs?: number;
  /** `closed` (default): refuse every token with 503; `open`: accept tokens until `exp`. */
  whenFeedDown?: "closed" | "open";
  /** Seconds of clock skew accepted on `exp`, `iat`. Default 5. */
  clockTolerance?: number;
  /** The algorithms latchkey signs with. Default EdDSA and ES256. */
  algorithms?: string[];
  /** Where a failure to read the feed is told (once per outage). */
  onFeedError?: (error: unknown) => void;
  /** The time, ms since the epoch, for checking `exp` and forgetting old entries. Default `Date.now` (tests freeze it). */
  now?: () => number;
}

/**
 * A token that passed.
 * @example
 * const verifier = createVerifier({ issuer: "https://auth.example", credentials: { clientId: "svc_...", clientSecret: "..." } });
 * const who: VerifiedToken = await verifier.verify(token);
 * if (who.kind === "user") console.log(who.userId, who.sessionId);
 */
export type VerifiedToken =
  | { kind: "user"; userId: string; sessionId: string; expiresAt: number; claims: JWTPayload }
  | { kind: "service"; serviceId: string; expiresAt: number; claims: JWTPayload };

/**
 * Why a token did not pass: `invalid_token` (401) or `service_unavailable` (503).
 * @example
 * const verifier = createVerifier({ issuer: "https://auth.example", credentials: { clientId: "svc_...", clientSecret: "..." } });
 * const answer = await verifier.verify(token).catch((error: unknown) =>
 *   error instanceof VerifyError ? error.statusCode : 500,
 * );
 */
export class VerifyError extends Error {
  readonly code: "invalid_token" | "service_unavailable";
  readonly statusCode: 401 | 503;

  constructor(code: "invalid_token" | "service_unavailable", message: string) {
    super(message);
    this.name = "VerifyError";
    this.code = code;
    this.statusCode = code === "invalid_token" ? 401 : 503;
  }
}

/**
 * What `createVerifier` returns.
 * @example
 * const verifier = createVerifier({ issuer: "https://auth.example", credentials: { clientId: "svc_...", clientSecret: "..." } });
 * await verifier.ready();
 * process.on("SIGTERM", () => verifier.close());
 */
export interface Verifier {
  /** The verified token, or a `VerifyError`. */
  verify(token: string): Promise<VerifiedToken>;
  /** Resolves once the feed has been read once (tokens are refused until then). */
  ready(): Promise<void>;
  /** Stops following the feed. */
  close(): void;
}

/**
 * How long an event stream may say nothing before it is taken for dead, ms: latchkey sends
 * a heartbeat every 2 s, so this is two missed ones and some.
 */
const STREAM_SILENCE_MS = 5000;

/** How long ago the instance read its feed, from a heartbeat's data; unknown is too long. */
function ageOf(data: string): number {
  try {
    const age = (JSON.parse(data) as { age_ms?: unknown }).age_ms;
    return typeof age === "number" && age >= 0 ? age : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** How many verified tokens a verifier remembers. */
const VERIFIED_MAX = 10_000;

interface FeedPage {
  entries: { type: string; sid?: string; client_id?: string; at: number; until?: number }[];
  cursor: string;
  reset: boolean;
  more: boolean;
}

/**
 * @example
 * const verifier = createVerifier({
 *   issuer: "https://auth.example",
 *   credentials: { clientId: process.env.CLIENT_ID ?? "", clientSecret: process.env.CLIENT_SECRET ?? "" },
 * });
 * const who = await verifier.verify(token); // { kind: "user", userId, sessionId, ... }
 */
export function createVerifier(options: VerifierOptions): Verifier {
  const base = `${(options.baseUrl ?? options.issuer).replace(/\/$/, "")}${options.prefix ?? ""}`;
  const audience = options.audience ?? options.issuer;
  const accept = options.accept ?? "user";
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const tolerateMs = options.tolerateMs ?? 5000;
  const clockTolerance = options.clockTolerance ?? 5;
  const clock = options.now ?? Date.now;
  const basic = `Basic ${Buffer.from(
    `${encodeURIComponent(options.credentials.clientId)}:${encodeURIComponent(options.credentials.clientSecret)}`,
  ).toString("base64")}`;
  // An unknown `kid` (a rotation) fetches the keys again, at most once per 30 s: a flood of
  // made-up `kid`s cannot become a flood of requests to latchkey.
  const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`), { cooldownDuration: 30_000 });

  const endedSessions = new Map<string, number>();
  /** Tokens whose signature and claims checked out, oldest first (a map keeps insertion order). */
  const verified = new Map<string, JWTPayload>();
  const revokedServices = new Map<string, number>();
  let cursor: string | undefined;
  let lastRead = 0;
  // A feed reset: tokens issued before it are confirmed with latchkey until they expire.
  let distrustBefore = 0;
  let failing = false;
  let streamAbort: AbortController | undefined;
  // A rotation reaches latchkey's instances one by one: a key set fetched from one that had
  // not reloaded yet lacks the new key. For a minute after a rotation, an unknown `kid`
  // fetches the keys again (at most once a second), past jose's 30 s cooldown.
  let keysChangedAt = 0;
  let forcedAt = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let markReady: () => void = () => {};
  const readyPromise = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const readFeed = async (): Promise<void> => {
    let page: FeedPage;
    do {
      const url = `${base}/auth/revocations${cursor === undefined ? "" : `?since=${encodeURIComponent(cursor)}`}`;
      const response = await fetch(url, { headers: { authorization: basic, accept: "application/json" } });
      if (!response.ok) throw new Error(`latchkey answered ${response.status} to the revocation feed`);
      page = (await response.json()) as FeedPage;
      if (page.reset && cursor !== undefined) {
        // What ended in between is unknown: confirm older tokens with latchkey.
        distrustBefore = clock();
      }
      for (const entry of page.entries) await apply(entry);
      cursor = page.cursor;
    } while (page.more && !closed);
    forgetOld();
    lastRead = Date.now();
  };

  const apply = async (entry: FeedPage["entries"][number]): Promise<void> => {
    const until = (entry.until ?? entry.at) * 1000;
    if (entry.type === "session_ended" && entry.sid) endedSessions.set(entry.sid, until);
    else if (entry.type === "service_revoked" && entry.client_id) revokedServices.set(entry.client_id, until);
    else if (entry.type === "keys_changed") {
      keysChangedAt = Date.now();
      await jwks.reload().catch(() => {});
    }
  };

  // An entry matters until its last token expired, as this verifier counts expiry: with
  // its own clock tolerance, which may be larger than latchkey's.
  const forgetOld = () => {
    const now = clock() - clockTolerance * 1000;
    for (const [id, until] of endedSessions) if (until < now) endedSessions.delete(id);
    for (const [id, until] of revokedServices) if (until < now) revokedServices.delete(id);
  };

  /**
   * Follows the event stream from `cursor` until it breaks; `false` when latchkey does not
   * stream (an older latchkey, a proxy in the way): then the feed is polled instead.
   *
   * The verifier is as current as the instance it listens to: an entry means that instance
   * has just read the feed, a heartbeat says how long ago it did (`age_ms`), and nothing
   * else counts (a connection that stays open while the instance is cut from its store is
   * not a current feed). A stream silent for `STREAM_SILENCE_MS` is dead, however open its
   * connection looks (a balancer or NAT that dropped it without a word): it is aborted and
   * followed again.
   */
  const followStream = async (): Promise<boolean> => {
    const controller = new AbortController();
    streamAbort = controller;
    let heardAt = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - heardAt > STREAM_SILENCE_MS) controller.abort(new Error("the revocation stream fell silent"));
    }, 250);
    watchdog.unref();
    try {
      const response = await fetch(`${base}/auth/revocations`, {
        headers: {
          authorization: basic,
          accept: "text/event-stream",
          ...(cursor !== undefined && { "last-event-id": cursor }),
        },
        signal: controller.signal,
      });
      if (!response.ok) throw new Error(`latchkey answered ${response.status} to the revocation feed`);
      if (!response.headers.get("content-type")?.startsWith("text/event-stream") || !response.body) {
        await response.body?.cancel();
        return false;
      }
      const events: EventSourceMessage[] = [];
      const parser = createParser({ onEvent: (event) => events.push(event) });
      const decoder = new TextDecoder();
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        parser.feed(decoder.decode(chunk, { stream: true }));
        for (const event of events.splice(0)) {
          heardAt = Date.now();
          const ended = await take(event);
          if (event.id !== undefined) cursor = event.id;
          if (ended) throw new Error(ended);
        }
        forgetOld();
      }
      return true;
    } finally {
      clearInterval(watchdog);
    }
  };

  /** Applies one event of the stream; returns why the stream ends, when it does. */
  const take = async (event: EventSourceMessage): Promise<string | undefined> => {
    switch (event.event) {
      case "revocation":
        await apply(JSON.parse(event.data));
        lastRead = Date.now();
        return undefined;
      case "reset":
        distrustBefore = clock();
        lastRead = Date.now();
        return undefined;
      case "heartbeat":
        lastRead = Math.max(lastRead, Date.now() - ageOf(event.data));
        return undefined;
      case "stale":
        return "the latchkey instance behind the revocation stream cannot read its feed";
      case "resume":
        return "the revocation stream fell behind; resuming from the last event";
      default:
        return undefined;
    }
  };

  // A catch-up read first (so `ready()` means the history is known), then the event
  // stream, pushed; if latchkey does not stream, or `follow: "poll"`, a read every
  // `pollIntervalMs`. A broken stream reconnects from its last event after that delay.
  let streaming = (options.follow ?? "stream") === "stream";
  const loop = async () => {
    if (closed) return;
    try {
      await readFeed();
      failing = false;
      markReady();
      if (streaming && !closed) {
        streaming = await followStream();
        if (!closed && streaming) throw new Error("the revocation stream ended");
      }
    } catch (error) {
      if (!failing && !closed) options.onFeedError?.(error);
      failing = true;
    }
    if (!closed) timer = setTimeout(loop, pollIntervalMs);
  };
  void loop();

  /** Whether latchkey still says the token is active (introspection). */
  const introspect = async (token: string): Promise<boolean> => {
    const response = await fetch(`${base}/auth/introspect`, {
      method: "POST",
      headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token }).toString(),
    });
    if (!response.ok) throw new VerifyError("service_unavailable", "latchkey cannot be asked about this token.");
    return ((await response.json()) as { active?: boolean }).active === true;
  };

  return {
    async verify(token) {
      const now = Date.now();
      if (lastRead === 0 || now - lastRead > tolerateMs) {
        if ((options.whenFeedDown ?? "closed") === "closed" || lastRead === 0) {
          throw new VerifyError("service_unavailable", "The revocation feed cannot be read: tokens cannot be checked.");
        }
      }
      const check = () =>
        jwtVerify(token, jwks, {
          issuer: options.issuer,
          audience,
          algorithms: options.algorithms ?? ["EdDSA", "ES256"],
          typ: "at+jwt",
          clockTolerance,
          currentDate: new Date(clock()),
          requiredClaims: ["exp", "iat", "sub", "jti"],
        });
      // A token seen before costs a map lookup, not a signature check: its signature and
      // claims were checked then; its expiry and its session are checked on every call.
      let payload = verified.get(token);
      if (payload && ((payload.exp as number) + clockTolerance) * 1000 <= clock()) {
        verified.delete(token);
        payload = undefined;
      }
      if (!payload) {
        try {
          try {
            ({ payload } = await check());
          } catch (error) {
            const recentRotation = Date.now() - keysChangedAt < 60_000 && Date.now() - forcedAt > 1000;
            if (!(error instanceof errors.JWKSNoMatchingKey) || !recentRotation) throw error;
            forcedAt = Date.now();
            await jwks.reload();
            ({ payload } = await check());
          }
        } catch (error) {
          const expired = error instanceof errors.JWTExpired;
          throw new VerifyError("invalid_token", expired ? "The token has expired." : "The token is not valid.");
        }
        if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value as string);
        verified.set(token, payload);
      }
      const expiresAt = (payload.exp as number) * 1000;
      const issuedAt = (payload.iat as number) * 1000;
      const confirm = async () => {
        if (issuedAt < distrustBefore && !(await introspect(token))) {
          throw new VerifyError("invalid_token", "The token's session has ended.");
        }
      };
      if (payload.kind === "service") {
        const serviceId = payload.sub as string;
        if (accept === "user" || payload.client_id !== serviceId) {
          throw new VerifyError("invalid_token", "A service's token is not accepted here.");
        }
        if (revokedServices.has(serviceId)) throw new VerifyError("invalid_token", "The service has been revoked.");
        await confirm();
        return { kind: "service", serviceId, expiresAt, claims: payload };
      }
      const sessionId = payload.sid;
      if (accept === "service" || typeof sessionId !== "string") {
        throw new VerifyError("invalid_token", "A user's token is not accepted here.");
      }
      if (endedSessions.has(sessionId)) throw new VerifyError("invalid_token", "The token's session has ended.");
      await confirm();
      return { kind: "user", userId: payload.sub as string, sessionId, expiresAt, claims: payload };
    },
    ready: () => readyPromise,
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      streamAbort?.abort();
    },
  };
}

/** The token of an `Authorization: Bearer` header, or `null`. */
function bearerOf(header: string | string[] | null | undefined): string | null {
  const match = typeof header === "string" ? /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header) : null;
  return match ? (match[1] as string) : null;
}

/** The contract's error answer for a refusal. */
function refusal(error: unknown): { status: number; headers: Record<string, string>; body: string } {
  const known =
    error instanceof VerifyError ? error : new VerifyError("service_unavailable", "The token cannot be checked.");
  const headers: Record<string, string> = {
    "content-type": "application/json; charset=utf-8",
    "cache-control": "no-store",
  };
  if (known.code === "invalid_token") headers["www-authenticate"] = 'Bearer error="invalid_token"';
  return {
    status: known.statusCode,
    headers,
    body: JSON.stringify({ error: { code: known.code, message: known.message } }),
  };
}

async function verifyHeader(verifier: Verifier, header: string | string[] | null | undefined): Promise<VerifiedToken> {
  const token = bearerOf(header);
  if (!token) throw new VerifyError("invalid_token", "Send an access token: Authorization: Bearer <token>.");
  return verifier.verify(token);
}

/**
 * For `fetch`-style handlers: runs `handler` for a request with a live token, and answers
 * the contract's error otherwise.
 *
 * @example
 * const GET = (request: Request) =>
 *   protect(verifier, request, (who) => Response.json({ user: who.kind === "user" ? who.userId : null }));
 */
export async function protect(
  verifier: Verifier,
  request: Request,
  handler: (token: VerifiedToken) => Response | Promise<Response>,
): Promise<Response> {
  let token: VerifiedToken;
  try {
    token = await verifyHeader(verifier, request.headers.get("authorization"));
  } catch (error) {
    const { status, headers, body } = refusal(error);
    return new Response(body, { status, headers });
  }
  return handler(token);
}

/** The request and response an Express (or `node:http`) middleware is given. */
interface NodeRequest {
  headers: Record<string, string | string[] | undefined>;
  token?: VerifiedToken;
}
interface NodeResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

/**
 * Express middleware: `req.token` for a live token, the contract's error otherwise.
 *
 * @example
 * import express from "express";
 *
 * const reports = express();
 * reports.get("/reports", verifyExpress(verifier), (_req, res) => {
 *   res.json({ ok: true });
 * });
 */
export function verifyExpress(verifier: Verifier) {
  return (req: NodeRequest, res: NodeResponse, next: (error?: unknown) => void): void => {
    verifyHeader(verifier, req.headers.authorization).then(
      (token) => {
        req.token = token;
        next();
      },
      (error: unknown) => {
        const { status, headers, body } = refusal(error);
        res.statusCode = status;
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        res.end(body);
      },
    );
  };
}

/** The parts of a Hono context the middleware uses. */
interface HonoContextLike {
  req: { header(name: string): string | undefined };
  set(key: "token", value: VerifiedToken): void;
}

/**
 * Hono middleware: `c.var.token` for a live token, the contract's error otherwise.
 *
 * @example
 * import { Hono } from "hono";
 *
 * const reports = new Hono<{ Variables: { token: VerifiedToken } }>();
 * reports.get("/reports", verifyHono(verifier), (c) => c.json({ kind: c.get("token").kind }));
 */
export function verifyHono(verifier: Verifier) {
  return async (c: HonoContextLike, next: () => Promise<void>): Promise<Response | undefined> => {
    let token: VerifiedToken;
    try {
      token = await verifyHeader(verifier, c.req.header("authorization"));
    } catch (error) {
      const { status, headers, body } = refusal(error);
      return new Response(body, { status, headers });
    }
    c.set("token", token);
    await next();
    return undefined;
  };
}

/** The parts of a Fastify request and reply the hook uses. */
interface FastifyRequestLike {
  headers: Record<string, string | string[] | undefined>;
  token?: VerifiedToken;
}
interface FastifyReplyLike {
  code(status: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(body: string): unknown;
}

/**
 * A Fastify `preHandler`: `request.token` for a live token, the contract's error otherwise.
 * Declare it once: `app.decorateRequest("token", null)`.
 *
 * @example
 * app.get("/reports", { preHandler: verifyFastify(verifier) }, async (request) => ({ ok: true }));
 */
export function verifyFastify(verifier: Verifier) {
  return async (request: FastifyRequestLike, reply: FastifyReplyLike): Promise<void> => {
    try {
      request.token = await verifyHeader(verifier, request.headers.authorization);
    } catch (error) {
      const { status, headers, body } = refusal(error);
      await reply.code(status).headers(headers).send(body);
    }
  };
}
