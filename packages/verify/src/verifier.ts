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
import { createRemoteJWKSet } from "jose";
import { FeedError, feedAnswerError, feedError, safeCause, VerifyError } from "./errors.js";
import { latchkeyAddress, tokenLifetime } from "./options.js";
import { checkDeadline, readiness } from "./ready.js";
import {
  BUILT_IN_PERMISSIONS,
  type CheckedToken,
  isExpired,
  RememberedTokens,
  type TokenCheck,
  type TokenRules,
  verifyToken,
} from "./rules.js";

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
  /** latchkey's `PUBLIC_ORIGIN`: the tokens' `iss`. Without a user or password (`user:pass@`). */
  issuer: string;
  /** The tokens' `aud`. Default: the issuer (latchkey's own). */
  audience?: string;
  /**
   * Where latchkey answers, when not at the issuer (a private address): an http(s) URL
   * without a user or password (the service's own go in `credentials`). Default: the issuer.
   */
  baseUrl?: string;
  /** latchkey's route prefix (`prefix` of its adapters): `""` (default) or a path from `/`. */
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
  /** Seconds of clock skew accepted on `exp`, `nbf`, `iat` and the lifetime (latchkey's `CLOCK_TOLERANCE`). Default 5. */
  clockTolerance?: number;
  /**
   * latchkey's `ACCESS_TOKEN_TTL`, seconds. When set, a token living longer (`exp - iat`,
   * or its age) was not issued by latchkey as configured, and is refused
   * (`reason: "lifetime"`), as latchkey refuses it: set it to latchkey's value exactly (a
   * smaller one refuses every token latchkey issues). Unset (the default), the lifetime is
   * not checked: `exp` still is.
   */
  accessTokenTtl?: number;
  /** The algorithms latchkey signs with. Default EdDSA and ES256. */
  algorithms?: string[];
  /**
   * Where a failure to read the feed is told (once per outage): a `FeedError`, whose
   * `reason` says why. An exception it throws is ignored: the feed is still followed.
   */
  onFeedError?: (error: FeedError) => void;
  /** How long `ready()` waits for the first read of the feed before it rejects, ms. Default 10,000. */
  readyTimeoutMs?: number;
  /** The time, ms since the epoch, for checking `exp` and forgetting old entries. Default `Date.now` (tests freeze it). */
  now?: () => number;
  /**
   * What each role grants: latchkey's `access.roles`, for `can()` and the middleware's
   * `{ permission }`. `admin` always grants latchkey's built-in permissions
   * (`BUILT_IN_PERMISSIONS`). Without it, only those built-in grants are known.
   */
  roles?: Readonly<Record<string, readonly string[]>>;
}

/**
 * A token that passed: a user's (`userId`, `sessionId`, `roles`, and `authTime` (ms) and
 * `amr`: when and how the person last proved who they are in the session) or a service's
 * (`serviceId`), with `jti`, `issuedAt` and `expiresAt` (ms) and its `claims`. A user's
 * `roles` are current: a role change on the feed refuses the tokens issued before it. Its
 * `authTime` is as of the token's issue: a service that wants a recent sign-in compares it
 * with now.
 * @example
 * const verifier = createVerifier({ issuer: "https://auth.example", credentials: { clientId: "svc_...", clientSecret: "..." } });
 * const who: VerifiedToken = await verifier.verify(token);
 * if (who.kind === "user") console.log(who.userId, who.sessionId);
 */
export type VerifiedToken = CheckedToken;

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
  /**
   * Resolves once the feed has been read once (tokens are refused until then). Rejects
   * with a `FeedError` when it was not read within `timeoutMs` (default the verifier's
   * `readyTimeoutMs`, 10 s), with the last reason (`unreachable`, `not_found`, `refused`,
   * `answer`, or `timeout` when latchkey never answered); at once when latchkey refused
   * the credentials (`credentials`); and when the verifier is closed first (`closed`). The
   * verifier keeps trying in the background either way.
   */
  ready(options?: { timeoutMs?: number }): Promise<void>;
  /**
   * Whether a verified user's roles grant `permission`, by the verifier's `roles`
   * option (and `admin`'s built-in grants); a service's token has no roles: `false`.
   * @example
   * const who = await verifier.verify(token);
   * if (!verifier.can(who, "todos:read-any")) throw new Error("forbidden");
   */
  can(token: VerifiedToken, permission: string): boolean;
  /** Whether any role the verifier knows grants `permission` (the middleware checks it at set-up). */
  knowsPermission(permission: string): boolean;
  /** Stops following the feed. */
  close(): void;
  /** How many verified tokens are held in memory: about the tokens in use, expired ones dropped (for metrics). */
  readonly remembered: number;
}

/**
 * How long an event stream may say nothing before it is taken for dead, ms: latchkey sends
 * a heartbeat every 2 s, so this is two missed ones and some.
 */
const STREAM_SILENCE_MS = 5000;

/** How long a read of the feed may wait for latchkey's answer, ms. */
const FEED_READ_MS = 10_000;

/** How long ago the instance read its feed, from a heartbeat's data; unknown is too long. */
function ageOf(data: string): number {
  try {
    const age = (JSON.parse(data) as { age_ms?: unknown }).age_ms;
    return typeof age === "number" && age >= 0 ? age : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

interface FeedPage {
  entries: {
    type: string;
    sid?: string;
    client_id?: string;
    sub?: string;
    roles_at?: number;
    at: number;
    until?: number;
  }[];
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
  const base = latchkeyAddress(options);
  const accept = options.accept ?? "user";
  const pollIntervalMs = options.pollIntervalMs ?? 500;
  const tolerateMs = options.tolerateMs ?? 5000;
  const clockTolerance = options.clockTolerance ?? 5;
  const clock = options.now ?? Date.now;
  // latchkey's own rules (`@latchkey/verify/rules`), with this service's view of them.
  const rules: TokenRules = {
    issuer: options.issuer,
    audience: options.audience ?? options.issuer,
    algorithms: options.algorithms ?? ["EdDSA", "ES256"],
    // Unset, no lifetime limit: a fixed default (600 before) refused every token of a
    // latchkey whose ACCESS_TOKEN_TTL is longer.
    ttl: tokenLifetime(options.accessTokenTtl),
    clockTolerance,
  };
  const feedUrl = `${base}/auth/revocations`;
  const readied = readiness(feedUrl, checkDeadline(options.readyTimeoutMs ?? 10_000, "readyTimeoutMs"));
  const basic = `Basic ${Buffer.from(
    `${encodeURIComponent(options.credentials.clientId)}:${encodeURIComponent(options.credentials.clientSecret)}`,
  ).toString("base64")}`;
  // An unknown `kid` (a rotation) fetches the keys again, at most once per 30 s: a flood of
  // made-up `kid`s cannot become a flood of requests to latchkey.
  const jwks = createRemoteJWKSet(new URL(`${base}/.well-known/jwks.json`), { cooldownDuration: 30_000 });

  const endedSessions = new Map<string, number>();
  /** Users whose roles changed: their latest `roles_at` (ms), and until when it matters. */
  const rolesChanged = new Map<string, { rolesAt: number; until: number }>();
  /** Tokens whose signature and claims checked out, until they expire. */
  const verified = new RememberedTokens<CheckedToken>({ clockTolerance });
  const revokedServices = new Map<string, number>();
  let cursor: string | undefined;
  let lastRead = 0;
  // A feed reset: tokens issued before it are confirmed with latchkey until they expire.
  let distrustBefore = 0;
  let failing = false;
  let streamAbort: AbortController | undefined;
  // Reads of the feed end when the verifier closes, and when latchkey (or a connection that
  // died without a word) has not answered within `FEED_READ_MS`: then the next read is tried.
  const reads = new AbortController();
  // A rotation reaches latchkey's instances one by one: a key set fetched from one that had
  // not reloaded yet lacks the new key. For a minute after a rotation, an unknown `kid`
  // fetches the keys again (at most once a second), past jose's 30 s cooldown.
  let keysChangedAt = 0;
  let forcedAt = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const readFeed = async (): Promise<void> => {
    let page: FeedPage;
    do {
      const url = `${base}/auth/revocations${cursor === undefined ? "" : `?since=${encodeURIComponent(cursor)}`}`;
      const response = await fetch(url, {
        headers: { authorization: basic, accept: "application/json" },
        signal: AbortSignal.any([reads.signal, AbortSignal.timeout(FEED_READ_MS)]),
      });
      if (!response.ok) throw feedAnswerError(response.status, feedUrl);
      page = (await response.json()) as FeedPage;
      if (!Array.isArray(page?.entries) || typeof page.cursor !== "string") throw new SyntaxError("not a feed page");
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
    else if (entry.type === "roles_changed" && entry.sub && typeof entry.roles_at === "number") {
      const known = rolesChanged.get(entry.sub);
      if (!known || known.rolesAt < entry.roles_at) rolesChanged.set(entry.sub, { rolesAt: entry.roles_at, until });
    } else if (entry.type === "keys_changed") {
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
    for (const [id, change] of rolesChanged) if (change.until < now) rolesChanged.delete(id);
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
      if (Date.now() - heardAt > STREAM_SILENCE_MS) {
        controller.abort(
          new FeedError("stream", `The revocation stream at ${feedUrl} fell silent; it is followed again.`),
        );
      }
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
      if (!response.ok) throw feedAnswerError(response.status, feedUrl);
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
          if (ended) throw new FeedError("stream", ended);
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
        return "The latchkey instance behind the revocation stream cannot read its feed; it is followed again.";
      case "resume":
        return "The revocation stream fell behind; it is followed again from its last event.";
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
      readied.read();
      if (streaming && !closed) {
        streaming = await followStream();
        if (!closed && streaming) throw new FeedError("stream", "The revocation stream ended; it is followed again.");
      }
    } catch (error) {
      const known = feedError(error, feedUrl);
      readied.failed(known);
      if (!failing && !closed) tell(known);
      failing = true;
    }
    if (!closed) timer = setTimeout(loop, pollIntervalMs);
  };
  // The host's callback must not stop the loop: a throw there would reject `loop` (an
  // unhandled rejection) and end the following, every token refused from then on.
  const tell = (error: FeedError) => {
    try {
      options.onFeedError?.(error);
    } catch {}
  };
  void loop();

  /**
   * Whether latchkey still says the token is active (introspection). Bounded as the feed's
   * reads are: a latchkey that does not answer within `FEED_READ_MS`, or the verifier
   * closed, is `introspection_failed` (503), never a request waiting for ever.
   */
  const introspect = async (token: string): Promise<boolean> => {
    try {
      const response = await fetch(`${base}/auth/introspect`, {
        method: "POST",
        headers: { authorization: basic, "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token }).toString(),
        signal: AbortSignal.any([reads.signal, AbortSignal.timeout(FEED_READ_MS)]),
      });
      if (!response.ok) throw new Error(`latchkey answered ${response.status} to introspection`);
      return ((await response.json()) as { active?: boolean }).active === true;
    } catch (error) {
      throw new VerifyError("introspection_failed", undefined, { cause: safeCause(error) });
    }
  };

  /**
   * The rules' check with latchkey's key set. A rotation reaches latchkey's instances one
   * by one: for a minute after the feed told of one, an unknown `kid` fetches the keys
   * again (at most once a second), past jose's 30 s cooldown. A key set that cannot be
   * fetched means the token cannot be checked (503), not that it is bad.
   */
  const checkSignature = async (token: string): Promise<TokenCheck> => {
    try {
      const check = await verifyToken(token, jwks, rules, clock());
      const recentRotation = Date.now() - keysChangedAt < 60_000 && Date.now() - forcedAt > 1000;
      if (check.ok || check.reason !== "unknown_key" || !recentRotation) return check;
      forcedAt = Date.now();
      await jwks.reload();
      return await verifyToken(token, jwks, rules, clock());
    } catch (error) {
      throw new VerifyError("keys_unavailable", undefined, { cause: safeCause(error) });
    }
  };

  /** Whether the token's session or service has ended, as far as the feed (or latchkey, after a reset) knows. */
  const checkLive = async (checked: CheckedToken, token: string): Promise<void> => {
    if (checked.kind === "service" && revokedServices.has(checked.serviceId)) {
      throw new VerifyError("revoked", "The service has been revoked.");
    }
    if (checked.kind === "user" && endedSessions.has(checked.sessionId)) throw new VerifyError("revoked");
    if (checked.kind === "user" && (rolesChanged.get(checked.userId)?.rolesAt ?? 0) > checked.rolesAt) {
      throw new VerifyError("revoked", "The user's roles have changed since this token was issued.");
    }
    if (checked.issuedAt < distrustBefore && !(await introspect(token))) throw new VerifyError("revoked");
  };

  const grants = new Map<string, Set<string>>([["admin", new Set(BUILT_IN_PERMISSIONS)]]);
  for (const [role, permissions] of Object.entries(options.roles ?? {})) {
    if (!Array.isArray(permissions) || permissions.some((p) => typeof p !== "string")) {
      throw new TypeError(`@latchkey/verify: option roles.${role} must be an array of permission names`);
    }
    const set = grants.get(role) ?? new Set<string>();
    for (const permission of permissions) set.add(permission);
    grants.set(role, set);
  }

  return {
    can(token, permission) {
      if (token.kind !== "user") return false;
      return token.roles.some((role) => grants.get(role)?.has(permission) === true);
    },
    knowsPermission(permission) {
      for (const granted of grants.values()) if (granted.has(permission)) return true;
      return false;
    },
    async verify(token) {
      const now = Date.now();
      if (lastRead === 0 || now - lastRead > tolerateMs) {
        if ((options.whenFeedDown ?? "closed") === "closed" || lastRead === 0) throw new VerifyError("feed_down");
      }
      // A token seen before costs a map lookup, not a signature check: its signature and
      // claims were checked then; its expiry and its session are checked on every call.
      let checked = verified.get(token);
      if (!checked) {
        const check = await checkSignature(token);
        if (!check.ok) throw new VerifyError(check.reason);
        checked = check.token;
        verified.remember(token, checked, clock());
      }
      if (isExpired(checked, clockTolerance, clock())) throw new VerifyError("expired");
      if (checked.kind === "service" && accept === "user") {
        throw new VerifyError("kind", "A service's token is not accepted here.");
      }
      if (checked.kind === "user" && accept === "service") {
        throw new VerifyError("kind", "A user's token is not accepted here.");
      }
      await checkLive(checked, token);
      return checked;
    },
    ready: (wait) => readied.wait(wait?.timeoutMs),
    get remembered() {
      return verified.size;
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      streamAbort?.abort();
      reads.abort();
      readied.close();
    },
  };
}
