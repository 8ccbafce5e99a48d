/**
 * The per-user security event log (`GET /auth/events`).
 */
import type { Clock } from "./clock.js";
import type { AuthObserver } from "./observer.js";
import type { EventStore } from "./ports.js";
import type { EventRecord, EventType } from "./records.js";
import { uuidv7 } from "./uuid.js";

/** What an event records besides its type and user. */
export interface EventContext {
  sessionId?: string | null;
  ip?: string;
  userAgent?: string;
  /** More about it, as JSON (`EventRecord.detail`). */
  detail?: string | null;
}

/** How many events `GET /auth/events` returns. */
export const EVENTS_LISTED = 100;

/**
 * @example
 * await log.record("login", user.id, { sessionId, ip, userAgent });
 */
export class SecurityLog {
  readonly #store: EventStore;
  readonly #clock: Clock;
  readonly #observer: Pick<AuthObserver, "securityEvent"> | undefined;

  constructor(deps: { store: EventStore; clock: Clock; observer?: Pick<AuthObserver, "securityEvent"> }) {
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#observer = deps.observer;
  }

  async record(type: EventType, userId: string, context: EventContext = {}): Promise<EventRecord> {
    const event: EventRecord = {
      id: uuidv7(this.#clock.now()),
      userId,
      type,
      at: this.#clock.now(),
      sessionId: context.sessionId ?? null,
      ip: context.ip ?? "",
      userAgent: (context.userAgent ?? "").slice(0, 512),
      detail: context.detail ?? null,
    };
    await this.#store.append(event);
    this.#observer?.securityEvent?.(type);
    return event;
  }

  /** The newest events of a user, newest first. */
  list(userId: string, limit = EVENTS_LISTED): Promise<EventRecord[]> {
    return this.#store.listByUser(userId, limit);
  }
}
