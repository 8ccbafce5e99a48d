/**
 * The signing keys of access tokens, as a list (fastify-cookie's `Signer` idea): the
 * newest key signs, every key still inside its verification window verifies, found by
 * `kid`. Asymmetric keys (EdDSA by default, or ES256) are generated on first start and
 * kept in the store, so every instance shares them; `rotate` adds a new key that signs at
 * once, and the old one keeps verifying until the last token it signed has expired, then
 * leaves the JWKS. HS256 uses `JWT_SECRET`, is never stored and publishes no JWKS.
 */
import { createHash } from "node:crypto";
import { type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK } from "jose";
import type { Clock } from "./clock.js";
import { AuthError } from "./errors.js";
import type { ChangeFeed, KeyStore } from "./ports.js";
import type { SigningAlgorithm, SigningKeyRecord } from "./records.js";

/** Options of `KeyRing.open`. */
export interface KeyRingOptions {
  store: KeyStore;
  changes: ChangeFeed;
  clock: Clock;
  alg: SigningAlgorithm;
  /** The HS256 secret (required for, and only used with, HS256). */
  secret?: string;
  /** How long a retired key keeps verifying: the access-token lifetime plus the clock tolerance, ms. */
  verifyWindowMs: number;
  /**
   * Whether this process may create a signing key when it finds none for its algorithm
   * (default `true`: servers). Commands that only read (`latchkey users list`) pass `false`,
   * so running one without the server's `JWT_ALG` writes nothing.
   */
  createKeys?: boolean;
}

type Key = CryptoKey | Uint8Array;

interface LoadedKey {
  kid: string;
  key: Key;
  retiredAt: number | null;
  publicJwk: JWK | null;
}

/**
 * A public summary of a key, for `latchkey keys list`.
 * @example
 * const keys: KeySummary[] = auth.keys.summaries();
 * console.log(keys.filter((key) => key.signing).map((key) => key.kid));
 */
export interface KeySummary {
  kid: string;
  alg: string;
  createdAt: number;
  retiredAt: number | null;
  /** Whether it still verifies (and is published in the JWKS). */
  verifying: boolean;
  signing: boolean;
}

/**
 * @example
 * const keys = await KeyRing.open({ store: stores.keys, changes: stores.changes, clock, alg: "EdDSA", verifyWindowMs: 605_000 });
 * const { kid, key } = keys.signer();
 */
export class KeyRing {
  readonly alg: SigningAlgorithm;
  readonly #options: KeyRingOptions;
  #signer: LoadedKey | undefined;
  #verifiers = new Map<string, LoadedKey>();
  #records: SigningKeyRecord[] = [];

  private constructor(options: KeyRingOptions) {
    this.#options = options;
    this.alg = options.alg;
  }

  /** Loads the keys, generating the first one when there is none for the algorithm. */
  static async open(options: KeyRingOptions): Promise<KeyRing> {
    const ring = new KeyRing(options);
    if (options.alg === "HS256") {
      if (!options.secret || Buffer.byteLength(options.secret) < 32) {
        throw new RangeError("HS256 needs a secret of at least 32 bytes");
      }
      const key = new TextEncoder().encode(options.secret);
      const kid = `hs256-${createHash("sha256").update(key).digest("base64url").slice(0, 12)}`;
      ring.#signer = { kid, key, retiredAt: null, publicJwk: null };
      ring.#verifiers.set(kid, ring.#signer);
      return ring;
    }
    await ring.reload();
    return ring;
  }

  /**
   * The key new tokens are signed with. Throws `service_unavailable` (503, never a 500)
   * in the moment between finding the signing key retired and its successor being loaded.
   */
  signer(): { kid: string; key: Key } {
    if (!this.#signer)
      throw new AuthError("service_unavailable", "No signing key is available yet. Try again shortly.");
    return this.#signer;
  }

  /** The verification key for a `kid`, or `undefined` (unknown, retired too long, not a string). */
  verifier(kid: unknown): Key | undefined {
    if (typeof kid !== "string") return undefined;
    const found = this.#verifiers.get(kid);
    if (!found) return undefined;
    if (found.retiredAt !== null && this.#options.clock.now() >= found.retiredAt + this.#options.verifyWindowMs) {
      return undefined;
    }
    return found.key;
  }

  /** The public keys that still verify: the JWKS document. Never private material. */
  jwks(): { keys: JWK[] } {
    const keys: JWK[] = [];
    for (const loaded of this.#verifiers.values()) {
      if (loaded.publicJwk && this.verifier(loaded.kid)) keys.push({ ...loaded.publicJwk });
    }
    return { keys };
  }

  /**
   * Every stored key, for the CLI, whatever this process's algorithm: the newest live key
   * of each algorithm signs for the servers configured with it.
   */
  summaries(): KeySummary[] {
    const now = this.#options.clock.now();
    const newestLive = new Map<string, string>();
    for (const r of this.#records) if (r.retiredAt === null) newestLive.set(r.alg, r.kid);
    return this.#records.map((r) => ({
      kid: r.kid,
      alg: r.alg,
      createdAt: r.createdAt,
      retiredAt: r.retiredAt,
      verifying: r.retiredAt === null || now < r.retiredAt + this.#options.verifyWindowMs,
      signing: newestLive.get(r.alg) === r.kid,
    }));
  }

  /**
   * Re-reads the keys from the store (on a `keys_changed` change, and at start). A process
   * that may create keys and finds no live one for its algorithm (the first start, or its
   * key retired under it) creates one.
   */
  async reload(): Promise<void> {
    await this.#load();
    if (!this.#signer && this.alg !== "HS256" && (this.#options.createKeys ?? true)) await this.rotate();
  }

  async #load(): Promise<void> {
    if (this.alg === "HS256") return;
    const records = await this.#options.store.list();
    const verifiers = new Map<string, LoadedKey>();
    let signer: LoadedKey | undefined;
    for (const record of records) {
      if (record.alg !== this.alg) continue;
      const publicJwk = JSON.parse(record.publicJwk) as JWK;
      const loaded: LoadedKey = {
        kid: record.kid,
        key: (await importJWK(publicJwk, record.alg)) as CryptoKey,
        retiredAt: record.retiredAt,
        publicJwk,
      };
      verifiers.set(record.kid, loaded);
      // Records come oldest first: the last live one is the newest.
      if (record.retiredAt === null) {
        signer = { ...loaded, key: (await importJWK(JSON.parse(record.privateJwk), record.alg)) as CryptoKey };
      }
    }
    this.#records = records;
    this.#verifiers = verifiers;
    this.#signer = signer;
  }

  /**
   * Adds a new key that signs from now on, retires the others (they verify until their
   * last token expires), and tells every other process through the change feed.
   */
  async rotate(): Promise<string> {
    if (this.alg === "HS256") {
      throw new RangeError("HS256 keys come from JWT_SECRET: rotate by changing it");
    }
    const alg = this.alg;
    const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
    const publicJwk = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(publicJwk);
    const now = this.#options.clock.now();
    const record: SigningKeyRecord = {
      kid,
      alg,
      publicJwk: JSON.stringify({ ...publicJwk, kid, alg, use: "sig" }),
      privateJwk: JSON.stringify({ ...(await exportJWK(privateKey)), kid, alg }),
      createdAt: now,
      retiredAt: null,
    };
    await this.#options.store.add(record);
    await this.#options.store.retireOthers(kid, alg, now);
    // This instance serves the new key before anyone is told of it.
    await this.#load();
    await this.#options.changes.publish("keys_changed", kid, now);
    return kid;
  }

  /** Deletes keys that no longer verify anything. */
  async prune(): Promise<number> {
    if (this.alg === "HS256") return 0;
    return this.#options.store.deleteRetiredBefore(this.#options.clock.now() - this.#options.verifyWindowMs);
  }
}
