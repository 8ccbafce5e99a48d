/**
 * Service credentials: the services that trust latchkey's tokens (resource servers)
 * authenticate to latchkey with a client id and a client secret, as OAuth clients do
 * (RFC 6749 2.3.1). The secret has 256 random bits and is shown once; only its SHA-256 is
 * stored (a secret of that entropy needs no slow hash, as session secrets need none).
 * Revoking a service is published on the change feed, so every instance stops honouring
 * it at once.
 */
import type { Clock } from "./clock.js";
import { AuthError } from "./errors.js";
import type { ChangeFeed, ServiceStore } from "./ports.js";
import type { ServiceRecord } from "./records.js";
import { hashSecret, type RandomBytes, randomToken, safeEqual } from "./secrets.js";

/** A service name: lower case letters, digits and dashes, starting with a letter. */
const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/** The answer to bad service credentials: one message, whatever was wrong. */
function invalidClient(): AuthError {
  return new AuthError("invalid_client", "The client credentials are invalid.");
}

/**
 * @example
 * const { service, clientSecret } = await auth.services.create("billing"); // the secret, once
 * const trusted = await auth.services.authenticate(service.id, clientSecret);
 */
export class ServiceAccounts {
  readonly #store: ServiceStore;
  readonly #changes: ChangeFeed;
  readonly #clock: Clock;
  readonly #random: RandomBytes | undefined;

  constructor(deps: { store: ServiceStore; changes: ChangeFeed; clock: Clock; random?: RandomBytes }) {
    this.#store = deps.store;
    this.#changes = deps.changes;
    this.#clock = deps.clock;
    this.#random = deps.random;
  }

  /** A new service and its client secret, which is never stored and cannot be shown again. */
  async create(name: string): Promise<{ service: ServiceRecord; clientSecret: string }> {
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
    if (!(await this.#store.create(service))) {
      throw new AuthError("invalid_request", `A service named "${name}" exists (revoked names stay taken).`);
    }
    return { service, clientSecret };
  }

  list(): Promise<ServiceRecord[]> {
    return this.#store.list();
  }

  /** Revokes a live service by name, everywhere at once; `null` when there is none. */
  async revoke(name: string): Promise<ServiceRecord | null> {
    const found = await this.#store.findByName(name);
    const at = this.#clock.now();
    if (!found || !(await this.#store.revoke(found.id, at))) return null;
    await this.#changes.publish("service_revoked", found.id, at);
    return { ...found, revokedAt: at };
  }

  /**
   * The live service these credentials prove, or `invalid_client` (unknown id, wrong
   * secret, revoked: one answer for all, compared in constant time).
   */
  async authenticate(clientId: string, clientSecret: string): Promise<ServiceRecord> {
    const found = clientId.startsWith("svc_") && clientId.length <= 64 ? await this.#store.findById(clientId) : null;
    const matches = found !== null && safeEqual(hashSecret(clientSecret), found.secretHash);
    if (!found || !matches || found.revokedAt !== null) throw invalidClient();
    return found;
  }
}
