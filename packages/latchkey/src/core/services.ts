/**
 * Service credentials: the services that trust latchkey's tokens (resource servers)
 * authenticate to latchkey with a client id and a client secret, as OAuth clients do
 * (RFC 6749 2.3.1). The secret has 256 random bits and is shown once; only its SHA-256 is
 * stored (a secret of that entropy needs no slow hash, as session secrets need none).
 * Revoking a service is published on the change feed, so every instance stops honouring
 * it at once.
 */
import { throttleAddress } from "./client-address.js";
import type { Clock } from "./clock.js";
import { AuthError, LatchkeySetupError, RetryLaterError } from "./errors.js";
import type { ChangeFeed, CounterStore, ServiceStore } from "./ports.js";
import type { ServiceRecord } from "./records.js";
import { hashSecret, type RandomBytes, randomToken, safeEqual } from "./secrets.js";

/** A service name: lower case letters, digits and dashes, starting with a letter. */
const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Refused service credentials per client address (per /64 for IPv6) within a minute
 * before that address's further refusals are answered 429 until the minute ends. A secret
 * of 256 bits cannot be guessed: the limit tells a flood (or a service left with an old
 * secret, retrying) to stop, and keeps it out of the log after the first 30 lines.
 * @example
 * const allowed: number = SERVICE_AUTH_FAILURES_PER_ADDRESS; // 30 a minute
 */
export const SERVICE_AUTH_FAILURES_PER_ADDRESS = 30;
const SERVICE_AUTH_WINDOW_MS = 60_000;

/**
 * What a host is told when its stores keep no services (`Stores.services` is optional, so
 * a store written for an earlier release still works): once at start-up, and again by
 * whatever needs them.
 */
export const NO_SERVICE_STORE =
  "the stores have no `services` store (Stores.services), so service credentials, and with them introspection and the revocation feed for services, are off. Use stores that keep services (latchkey's SQLite, PostgreSQL, Redis and memory stores do), or add a ServiceStore to yours (latchkey/testing holds it to the contract).";

/**
 * Service credentials refused: one answer (`invalid_client`, 401), whatever was wrong.
 * The error keeps who tried from where, for the server's log: a security event (the
 * client id is public, as a username is; the secret is never kept).
 *
 * @example
 * const refused = await auth.services.authenticate("svc_unknown", "wrong", ip).catch((error: unknown) => error);
 * if (refused instanceof InvalidClientError) console.warn("refused", refused.clientId, refused.ip);
 */
export class InvalidClientError extends AuthError {
  readonly clientId: string;
  readonly ip: string | undefined;

  constructor(clientId: string, ip: string | undefined) {
    super("invalid_client", "The client credentials are invalid.");
    this.name = "InvalidClientError";
    this.clientId = clientId.slice(0, 64);
    this.ip = ip;
  }
}

/**
 * @example
 * const { service, clientSecret } = await auth.services.create("billing"); // the secret, once
 * const trusted = await auth.services.authenticate(service.id, clientSecret);
 */
export class ServiceAccounts {
  readonly #store: ServiceStore | undefined;
  readonly #changes: ChangeFeed;
  readonly #clock: Clock;
  readonly #random: RandomBytes | undefined;
  readonly #counters: CounterStore | undefined;

  constructor(deps: {
    /** Without it (stores that keep no services), every service credential is refused. */
    store: ServiceStore | undefined;
    changes: ChangeFeed;
    clock: Clock;
    random?: RandomBytes;
    /** Counts refusals per address (`SERVICE_AUTH_FAILURES_PER_ADDRESS`); without it, none are. */
    counters?: CounterStore;
  }) {
    this.#store = deps.store;
    this.#counters = deps.counters;
    this.#changes = deps.changes;
    this.#clock = deps.clock;
    this.#random = deps.random;
  }

  /** A new service and its client secret, which is never stored and cannot be shown again. */
  async create(name: string): Promise<{ service: ServiceRecord; clientSecret: string }> {
    const store = this.#required();
    if (!NAME.test(name)) {
      throw new AuthError(
        "invalid_request",
        "A service name is 1 to 63 lower-case letters, digits and dashes, starting with a letter.",
      );
    }
    const clientSecret = randomToken(32, this.#random);
    const service: ServiceRecord = {
      id: `svc_${randomToken(16, this.#random)}`,
      name,
      secretHash: hashSecret(clientSecret),
      createdAt: this.#clock.now(),
      revokedAt: null,
    };
    if (!(await store.create(service))) {
      throw new AuthError("invalid_request", `A service named "${name}" exists (revoked names stay taken).`);
    }
    return { service, clientSecret };
  }

  async list(): Promise<ServiceRecord[]> {
    return this.#required().list();
  }

  /** A service by id, revoked or not; `null` when there is none (or no store keeps services). */
  async findById(id: string): Promise<ServiceRecord | null> {
    return this.#store ? this.#store.findById(id) : null;
  }

  /** Revokes a live service by name, everywhere at once; `null` when there is none. */
  async revoke(name: string): Promise<ServiceRecord | null> {
    const store = this.#required();
    const found = await store.findByName(name);
    const at = this.#clock.now();
    if (!found || !(await store.revoke(found.id, at))) return null;
    await this.#changes.publish("service_revoked", found.id, at);
    return { ...found, revokedAt: at };
  }

  /**
   * The live service these credentials prove, or `InvalidClientError` (unknown id, wrong
   * secret, revoked: one answer for all, compared in constant time). With the client's
   * `ip`, refusals are counted per address: past `SERVICE_AUTH_FAILURES_PER_ADDRESS` in a
   * minute, further refusals from that address are answered 429 (and are not security
   * events to log one by one). Right credentials are never refused for their address's
   * count, and cost no counter read.
   */
  async authenticate(clientId: string, clientSecret: string, ip?: string): Promise<ServiceRecord> {
    // No secret can be right where no service is kept: said plainly, never a 500.
    if (!this.#store) throw new AuthError("invalid_client", "This server keeps no service credentials.");
    const found = clientId.startsWith("svc_") && clientId.length <= 64 ? await this.#store.findById(clientId) : null;
    const matches = found !== null && safeEqual(hashSecret(clientSecret), found.secretHash);
    if (found && matches && found.revokedAt === null) return found;
    if (ip !== undefined && this.#counters) {
      const now = this.#clock.now();
      const state = await this.#counters.hit(
        `service-auth:address:${throttleAddress(ip)}`,
        SERVICE_AUTH_WINDOW_MS,
        now,
      );
      if (state.count > SERVICE_AUTH_FAILURES_PER_ADDRESS) {
        throw new RetryLaterError(
          "rate_limited",
          "Too many refused client credentials from this address. Try again later.",
          (state.resetAt - now) / 1000,
        );
      }
    }
    throw new InvalidClientError(clientId, ip);
  }

  #required(): ServiceStore {
    if (!this.#store) throw new LatchkeySetupError(NO_SERVICE_STORE);
    return this.#store;
  }
}
