/**
 * The revocation feed for services: what a service that verifies tokens locally must
 * know to refuse them before `exp`. It is the change feed every latchkey instance already
 * follows, read from the store and told in a service's terms: each ended session (every
 * way a session ends publishes one), each revoked service, each role change (a user's
 * tokens issued with their old roles), each key rotation, with until when it matters (the last access token it concerns has expired by `until`).
 *
 * A reader keeps the opaque `cursor` of its last read and passes it back (`since`). When
 * the feed lost its history since (Redis restarted without persistence: a new epoch), the
 * answer says `reset`: what happened in between is unknown, so the reader must not trust
 * tokens issued before it for one token lifetime (ask latchkey about them, or refuse).
 */

import type { ChangeFollower } from "./change-follower.js";
import type { Clock } from "./clock.js";
import { AuthError, RetryLaterError } from "./errors.js";
import type { ChangeFeed } from "./ports.js";
import type { ChangeRecord } from "./records.js";

/**
 * One thing a service must know. Times are seconds since the epoch, as JWT `exp` is.
 * @example
 * const { entries } = await auth.revocations.read(undefined);
 * const ended: string[] = entries.flatMap((e: RevocationEntry) => (e.type === "session_ended" ? [e.sid] : []));
 */
export type RevocationEntry =
  | { type: "session_ended"; sid: string; at: number; until: number }
  | { type: "service_revoked"; client_id: string; at: number; until: number }
  | { type: "roles_changed"; sub: string; roles_at: number; at: number; until: number }
  | { type: "keys_changed"; at: number };

/**
 * A read of the feed.
 * @example
 * const page: RevocationPage = await auth.revocations.read(undefined);
 * const next = await auth.revocations.read(page.cursor);
 */
export interface RevocationPage {
  entries: RevocationEntry[];
  /** Pass it back as `since` for what comes next. */
  cursor: string;
  /** The feed lost its history since `since`: distrust tokens issued before now for one token lifetime. */
  reset: boolean;
  /** Whether more entries wait (read again at once with `cursor`). */
  more: boolean;
}

/**
 * What a live follower of the feed is told (`events`). `heartbeat` says the instance read
 * the whole feed `ageMs` ago, so a subscriber knows how current it is, not merely that
 * the connection lives. The stream ends after `stale` (this instance has not read the
 * feed within its tolerance: it cannot vouch; reconnect, perhaps to another instance) and
 * after `resume` (the subscriber fell too far behind: reconnect from `cursor`).
 * @example
 * for await (const event of auth.revocations.events(undefined, AbortSignal.timeout(10_000))) {
 *   if (event.type === "entry") console.log(event.entry.type);
 * }
 */
export type RevocationEvent =
  | { type: "entry"; cursor: string; entry: RevocationEntry }
  | { type: "reset"; cursor: string }
  | { type: "heartbeat"; ageMs: number }
  | { type: "stale"; ageMs: number }
  | { type: "resume"; cursor: string };

/**
 * How many event streams an instance keeps open, and how far one may fall behind.
 * @example
 * const limits: StreamLimits = { ...DEFAULT_STREAM_LIMITS, perService: 2 };
 */
export interface StreamLimits {
  /** Streams one service may hold open on one instance (a service process needs one). */
  perService: number;
  /** Streams one instance holds open at most, all services together. */
  perInstance: number;
  /** Changes waiting for a subscriber that does not read before it is told to resume later. */
  maxPending: number;
}

/**
 * Default stream limits: a service runs one stream per process, a few during a rolling
 * restart; an instance's file descriptors stay for its users.
 * @example
 * const perService = DEFAULT_STREAM_LIMITS.perService; // 8
 */
export const DEFAULT_STREAM_LIMITS: Readonly<StreamLimits> = { perService: 8, perInstance: 256, maxPending: 1000 };

/**
 * How often a quiet stream says it is alive, ms: often enough that a subscriber tells a
 * live stream from a dead connection within its tolerance (5 s for `latchkey/verify`), and
 * that proxies never close it as idle.
 */
export const HEARTBEAT_MS = 2_000;

/** Entries per read at most. */
export const REVOCATIONS_PAGE_MAX = 1000;

/**
 * @example
 * const page = await auth.revocations.read(undefined); // the whole retained history
 * const next = await auth.revocations.read(page.cursor);
 */
export class RevocationFeed {
  readonly #feed: ChangeFeed;
  readonly #clock: Clock;
  readonly #tokenLifetimeMs: number;
  readonly #follower: ChangeFollower | undefined;
  readonly #limits: StreamLimits;
  /** Open streams per service, on this instance. */
  readonly #open = new Map<string, number>();
  #openTotal = 0;

  constructor(deps: {
    feed: ChangeFeed;
    clock: Clock;
    tokenLifetimeMs: number;
    follower?: ChangeFollower;
    streams?: Partial<StreamLimits>;
  }) {
    this.#feed = deps.feed;
    this.#clock = deps.clock;
    this.#tokenLifetimeMs = deps.tokenLifetimeMs;
    this.#follower = deps.follower;
    this.#limits = { ...DEFAULT_STREAM_LIMITS, ...deps.streams };
  }

  /** How many event streams are open on this instance. */
  get openStreams(): number {
    return this.#openTotal;
  }

  /**
   * Takes one of this instance's stream places for `serviceId`, or refuses with 429 when
   * the service, or the instance, holds all of its own. Call the returned function when
   * the stream ends (calling it again does nothing).
   */
  reserveStream(serviceId: string): () => void {
    const { perService, perInstance } = this.#limits;
    const mine = this.#open.get(serviceId) ?? 0;
    if (mine >= perService) {
      throw new RetryLaterError(
        "rate_limited",
        `This service has ${mine} event streams open on this instance, the most it may; a service process needs one.`,
        HEARTBEAT_MS / 1000,
      );
    }
    if (this.#openTotal >= perInstance) {
      throw new RetryLaterError("rate_limited", "This instance has all the event streams it keeps open.", 5);
    }
    this.#open.set(serviceId, mine + 1);
    this.#openTotal += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#openTotal -= 1;
      const left = (this.#open.get(serviceId) ?? 1) - 1;
      if (left > 0) this.#open.set(serviceId, left);
      else this.#open.delete(serviceId);
    };
  }

  /**
   * The feed as a live stream, for Server-Sent Events: what happened after `since` (from
   * the store), then each change as this instance's follower learns it (pushed by
   * PostgreSQL's LISTEN or Redis pub/sub, or read within its poll), each once, in order,
   * with the cursor to resume from. A follower that finds the feed reset is told `reset`;
   * a quiet stream is told `heartbeat` every `HEARTBEAT_MS` while this instance's follower
   * is current, and `stale` (then the end) once it is not. Changes pile up for a
   * subscriber that does not read at most `maxPending`; past that it is told `resume` and
   * the stream ends. Ends too when `signal` aborts, or after telling that `serviceId`
   * itself was revoked.
   */
  async *events(since: string | undefined, signal: AbortSignal, serviceId?: string): AsyncGenerator<RevocationEvent> {
    const follower = this.#follower;
    if (!follower) throw new Error("latchkey: a live revocation feed needs the change follower");
    // Subscribe before catching up, so nothing falls between the two; duplicates are
    // dropped by sequence number.
    const queue: ({ change: ChangeRecord } | { reset: true })[] = [];
    let overflowed = false;
    let wake: (() => void) | undefined;
    const notify = () => {
      wake?.();
      wake = undefined;
    };
    const push = (item: (typeof queue)[number]) => {
      if (overflowed) return;
      if (queue.length >= this.#limits.maxPending) {
        // Drop what waits (it is in the store) rather than hold it for a reader that is gone.
        overflowed = true;
        queue.length = 0;
      } else queue.push(item);
      notify();
    };
    const offChange = follower.onChange((change) => push({ change }));
    const offReset = follower.onReset(() => push({ reset: true }));
    signal.addEventListener("abort", notify, { once: true });
    try {
      let page = await this.#readRecords(since, REVOCATIONS_PAGE_MAX);
      let { epoch, seq } = parseCursor(page.cursor);
      if (page.reset) yield { type: "reset", cursor: page.cursor };
      for (;;) {
        for (const record of page.records) {
          for (const entry of this.#entry(record)) {
            yield { type: "entry", cursor: formatCursor(epoch, record.seq), entry };
            if (entry.type === "service_revoked" && entry.client_id === serviceId) return;
          }
        }
        if (!page.more) break;
        page = await this.#readRecords(page.cursor, REVOCATIONS_PAGE_MAX);
        ({ epoch, seq } = parseCursor(page.cursor));
      }
      while (!signal.aborted) {
        if (overflowed) {
          yield { type: "resume", cursor: formatCursor(epoch, seq) };
          return;
        }
        const next = queue.shift();
        if (!next) {
          const woken = await new Promise<boolean>((resolve) => {
            const quiet = setTimeout(() => {
              wake = undefined;
              resolve(false);
            }, HEARTBEAT_MS);
            wake = () => {
              clearTimeout(quiet);
              resolve(true);
            };
          });
          if (woken) continue;
          const ageMs = follower.readAgeMs();
          if (ageMs > follower.staleMs) {
            yield { type: "stale", ageMs };
            return;
          }
          yield { type: "heartbeat", ageMs };
          continue;
        }
        if ("reset" in next) {
          const position = await this.#feed.position();
          ({ epoch, seq } = { epoch: position.epoch, seq: 0 });
          yield { type: "reset", cursor: formatCursor(epoch, seq) };
          continue;
        }
        if (next.change.seq <= seq) continue;
        seq = next.change.seq;
        for (const entry of this.#entry(next.change)) {
          yield { type: "entry", cursor: formatCursor(epoch, seq), entry };
          if (entry.type === "service_revoked" && entry.client_id === serviceId) return;
        }
      }
    } finally {
      offChange();
      offReset();
    }
  }

  /**
   * What happened after `since` (a cursor of an earlier read; `undefined` for everything
   * still retained: one token lifetime back). Throws `invalid_request` for a cursor this
   * feed never gave.
   */
  async read(since: string | undefined, limit = REVOCATIONS_PAGE_MAX): Promise<RevocationPage> {
    const { records, ...page } = await this.#readRecords(since, limit);
    return { entries: records.flatMap((record) => this.#entry(record)), ...page };
  }

  /** A read's changes as the feed holds them (with their sequence numbers), and its page facts. */
  async #readRecords(
    since: string | undefined,
    limit: number,
  ): Promise<Omit<RevocationPage, "entries"> & { records: ChangeRecord[] }> {
    const position = await this.#feed.position();
    const from = since === undefined ? null : parseCursor(since);
    // Another epoch, or a sequence ahead of the feed's: the history the cursor counts in is gone.
    const reset = from !== null && (from.epoch !== position.epoch || from.seq > position.seq);
    const after = from === null || reset ? 0 : from.seq;
    const now = this.#clock.now();
    const records = await this.#feed.read(after, now - this.#tokenLifetimeMs, limit);
    const last = records.at(-1)?.seq ?? after;
    return {
      records,
      cursor: formatCursor(position.epoch, Math.max(last, reset ? 0 : after)),
      reset,
      more: records.length === limit,
    };
  }

  #entry(record: ChangeRecord): RevocationEntry[] {
    const at = Math.floor(record.at / 1000);
    const until = Math.ceil((record.at + this.#tokenLifetimeMs) / 1000);
    switch (record.kind) {
      case "session_ended":
        return [{ type: "session_ended", sid: record.subject, at, until }];
      case "service_revoked":
        return [{ type: "service_revoked", client_id: record.subject, at, until }];
      case "roles_changed":
        // `roles_at` is exact (ms): the user's tokens carrying an older `roles_at` were
        // issued with roles the user no longer has.
        return [{ type: "roles_changed", sub: record.subject, roles_at: record.at, at, until }];
      case "keys_changed":
        return [{ type: "keys_changed", at }];
      default:
        // A user's profile changed: its sessions' ends, if any, are entries of their own.
        return [];
    }
  }
}

function formatCursor(epoch: string, seq: number): string {
  return Buffer.from(JSON.stringify([epoch, seq])).toString("base64url");
}

function parseCursor(cursor: string): { epoch: string; seq: number } {
  try {
    const [epoch, seq] = JSON.parse(Buffer.from(cursor, "base64url").toString()) as unknown[];
    if (typeof epoch === "string" && Number.isSafeInteger(seq) && (seq as number) >= 0) {
      return { epoch, seq: seq as number };
    }
  } catch {
    // refused below
  }
  throw new AuthError("invalid_request", "The cursor is not one this feed gave.");
}
