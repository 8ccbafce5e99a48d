/**
 * Follows the change feed so that what one process (or the CLI) does reaches every other
 * process within a second: ended sessions, account changes, key rotations.
 *
 * It keeps the set of session ids ended within `retainMs` (for `REVOCATION=immediate`, the
 * access-token lifetime plus the clock tolerance). On start it loads that window from the
 * store, so a process that starts or reconnects misses nothing; then it polls every
 * `pollIntervalMs`, and reads at once when the feed pushes a wake-up.
 *
 * When the feed loses its history (Redis restarted without persistence, a failover, an
 * older backup restored), its epoch changes or its sequence goes backwards: the follower
 * starts over from sequence 0 and re-reads the window. What it may have missed before it
 * noticed is unknowable, so until one token lifetime has passed, `mustConfirm` says that
 * tokens issued before the reset must be checked against the session store; so it says
 * too while the feed cannot be read for longer than `staleMs`. Refuse rather than guess.
 */

import type { Clock } from "./clock.js";
import { dropStaleFront } from "./memo.js";
import type { ChangeFeed } from "./ports.js";
import type { ChangeRecord } from "./records.js";

/** Options of `ChangeFollower`. */
export interface ChangeFollowerOptions {
  feed: ChangeFeed;
  clock: Clock;
  /** How long an ended session id is remembered. */
  retainMs: number;
  /** Default 250 ms. */
  pollIntervalMs?: number;
  /** Called when a read fails; the follower keeps polling and catches up later. */
  onError?: (error: unknown) => void;
  /** How long without a successful read before the follower stops vouching. Default 5 s. */
  staleMs?: number;
}

type Listener = (change: ChangeRecord) => void;
type ResetListener = () => void;

const BATCH = 1000;

/**
 * @example
 * const follower = new ChangeFollower({ feed: stores.changes, clock, retainMs: 605_000 });
 * await follower.start();
 * follower.isSessionEnded(payload.sid);
 */
export class ChangeFollower {
  readonly #options: ChangeFollowerOptions;
  readonly #ended = new Map<string, number>();
  /** Services revoked recently: their tokens (which live one token lifetime) are refused. */
  readonly #revokedServices = new Map<string, number>();
  /** Users whose roles changed recently: the latest `rolesAt` of each (`roles_changed`). */
  readonly #rolesChanged = new Map<string, number>();
  readonly #listeners = new Set<Listener>();
  readonly #resetListeners = new Set<ResetListener>();
  #lastSeq = 0;
  #epoch: string | undefined;
  #lastReadAt = Number.NEGATIVE_INFINITY;
  /** Tokens issued before this time must be confirmed against the store until `#uncertainUntil`. */
  #uncertainBefore = 0;
  #uncertainUntil = 0;
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #reading: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(options: ChangeFollowerOptions) {
    this.#options = options;
  }

  /** Loads the recent window, then follows. Resolves once the window is loaded. */
  async start(): Promise<void> {
    await this.poll();
    const interval = this.#options.pollIntervalMs ?? 250;
    this.#timer = setInterval(() => void this.poll(), interval);
    this.#timer.unref();
    this.#unsubscribe = this.#options.feed.subscribe?.(() => void this.poll());
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#unsubscribe?.();
    this.#timer = undefined;
  }

  /**
   * Stops for good and waits for a read in flight, so nothing reads the feed once this
   * resolves (the stores can then be closed under it).
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.stop();
    await this.#reading;
  }

  /** Calls `listener` for every change read from now on. */
  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls `listener` whenever the feed is found to have lost its history. */
  onReset(listener: ResetListener): () => void {
    this.#resetListeners.add(listener);
    return () => this.#resetListeners.delete(listener);
  }

  /**
   * Whether the follower cannot vouch for a token issued at `issuedAt` (ms): the feed was
   * reset after it was issued, less than a token lifetime ago, or the feed has not been
   * read for `staleMs`. The caller then checks the session in the store.
   */
  mustConfirm(issuedAt: number): boolean {
    const now = this.#options.clock.now();
    if (now - this.#lastReadAt > this.staleMs) return true;
    return now < this.#uncertainUntil && issuedAt <= this.#uncertainBefore;
  }

  /**
   * Records a session this process has just ended, before the feed brings it back: the
   * process that ends a session refuses its tokens at once, the others within a poll.
   */
  noteSessionEnded(sessionId: string, at: number): void {
    this.#ended.set(sessionId, at);
  }

  /**
   * The user's latest role change within the retention window (its `rolesAt`), or `0`:
   * an access token carrying an older `roles_at` was issued with roles the user no longer
   * has, and is refused.
   */
  rolesChangedAt(userId: string): number {
    return this.#rolesChanged.get(userId) ?? 0;
  }

  /** Records a role change made by this process, before the feed brings it back. */
  noteRolesChanged(userId: string, at: number): void {
    if (at <= (this.#rolesChanged.get(userId) ?? 0)) return;
    // Deleted first, so the map stays in `at` order for `#forgetBefore`.
    this.#rolesChanged.delete(userId);
    this.#rolesChanged.set(userId, at);
  }

  /** Whether a service was revoked within the retention window (one token lifetime). */
  isServiceRevoked(serviceId: string): boolean {
    return this.#revokedServices.has(serviceId);
  }

  /** Whether this session id ended within the retained window. */
  isSessionEnded(sessionId: string): boolean {
    return this.#ended.has(sessionId);
  }

  /**
   * How long ago the feed was last read whole, ms (`Infinity` before the first read). A
   * service told of this instance's feed is told this too: the instance vouches only for
   * what it has read.
   */
  readAgeMs(): number {
    return this.#options.clock.now() - this.#lastReadAt;
  }

  /** How long without a successful read before the follower stops vouching, ms. */
  get staleMs(): number {
    return this.#options.staleMs ?? 5000;
  }

  /** The highest sequence number read so far. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Reads what is new. Concurrent calls share one read and trigger one more after it. */
  poll(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#reading) {
      this.#again = true;
      return this.#reading;
    }
    this.#reading = this.#readAll().finally(() => {
      this.#reading = undefined;
      if (this.#again && !this.#closed) {
        this.#again = false;
        void this.poll();
      }
    });
    return this.#reading;
  }

  async #readAll(): Promise<void> {
    const { feed, clock, retainMs, onError } = this.#options;
    try {
      const position = await feed.position();
      if (
        this.#epoch !== undefined &&
        (position.epoch !== this.#epoch || (position.seq > 0 && position.seq < this.#lastSeq))
      ) {
        this.#startOver(clock.now());
      }
      this.#epoch = position.epoch;
      for (;;) {
        const now = clock.now();
        const batch = await feed.read(this.#lastSeq, now - retainMs, BATCH);
        for (const change of batch) this.#take(change);
        if (batch.length < BATCH) break;
      }
      this.#lastReadAt = clock.now();
      this.#forgetBefore(clock.now() - retainMs);
    } catch (error) {
      onError?.(error);
    }
  }

  /** The feed's port promises commit order: nothing below `lastSeq` can appear later. */
  #take(change: ChangeRecord): void {
    if (change.seq <= this.#lastSeq) return;
    this.#lastSeq = change.seq;
    this.#apply(change);
  }

  /**
   * The feed lost its history: read it again from the start. The ended sessions already
   * known are kept (they are still ended); tokens issued until now must be confirmed.
   */
  #startOver(now: number): void {
    this.#lastSeq = 0;
    this.#uncertainBefore = now;
    this.#uncertainUntil = now + this.#options.retainMs;
    for (const listener of this.#resetListeners) listener();
  }

  #apply(change: ChangeRecord): void {
    if (change.kind === "session_ended") this.#ended.set(change.subject, change.at);
    else if (change.kind === "service_revoked") this.#revokedServices.set(change.subject, change.at);
    else if (change.kind === "roles_changed") this.noteRolesChanged(change.subject, change.at);
    for (const listener of this.#listeners) listener(change);
  }

  #forgetBefore(cutoff: number): void {
    // Map iteration follows insertion order, which is roughly `at` order: stop early.
    dropStaleFront(this.#ended, (at) => at < cutoff);
    dropStaleFront(this.#revokedServices, (at) => at < cutoff);
    dropStaleFront(this.#rolesChanged, (at) => at < cutoff);
  }
}
