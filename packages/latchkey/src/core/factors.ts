/**
 * Second factors (`docs/accounts.md`, "Second factors"): an authenticator app (TOTP) and
 * the recovery codes that stand in for it when the phone is lost.
 *
 * - A TOTP secret is made here (160 random bits), shown once (as text and as a QR code),
 *   and stored sealed under the server's keys (`FactorKeys`). The factor protects nothing
 *   until its first code is confirmed, so a half-done enrolment locks nobody out.
 * - A code is accepted once: the store records the step it belonged to, in one
 *   conditional write, and refuses that step and earlier ones after, on every instance.
 * - Ten recovery codes come with the first factor, 80 random bits each, stored as SHA-256
 *   hashes (with 80 bits there is nothing to brute-force), each good once; making new ones
 *   voids the old.
 */
import type { AuthenticationResponseJSON } from "@simplewebauthn/server";
import type { Clock } from "./clock.js";
import { AuthError } from "./errors.js";
import type { FactorKeys } from "./factor-keys.js";
import type { Passkeys, PasskeyView } from "./passkeys.js";
import type { FactorStore } from "./ports.js";
import type { FactorRecord } from "./records.js";
import { defaultRandomBytes, hashSecret, ID_BYTES, type RandomBytes, randomToken } from "./secrets.js";
import type { EventContext, SecurityLog } from "./security-log.js";
import { matchTotp, normalizeTotpCode, TOTP_SECRET_BYTES, totpEnrolment, totpKey } from "./totp.js";

/**
 * How many recovery codes a set holds.
 * @example
 * const codes: string[] = await auth.factors.regenerateRecoveryCodes(userId, {}); // RECOVERY_CODE_COUNT of them
 */
export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32 alphabet, lower-case: no i, l, o or u to misread. */
const RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz";
/** Characters per recovery code: 16 of 32 symbols, 80 bits. */
const RECOVERY_LENGTH = 16;
/** How long an enrolment may wait for its first code. */
const PENDING_TOTP_MS = 15 * 60 * 1000;

/**
 * The ways a second step can be passed, as `POST /auth/login` tells the client.
 * @example
 * const method: SecondFactorMethod = "totp";
 */
export type SecondFactorMethod = "totp" | "passkey" | "recovery_code";

/**
 * What a person offers at a second step: a code from the app, a recovery code, or a
 * passkey's answer to the challenge of `challenge` (the token `Passkeys.signInOptions`
 * gave the caller: its cookie, or `challenge_token`).
 * @example
 * const proof: SecondFactorProof = { code: "492039" };
 */
export type SecondFactorProof =
  | { code: string; recoveryCode?: undefined; passkey?: undefined }
  | { recoveryCode: string; code?: undefined; passkey?: undefined }
  | { passkey: AuthenticationResponseJSON; challenge: string | undefined; code?: undefined; recoveryCode?: undefined };

/**
 * A user's second factors, as `GET /auth/factors` shows them: never a secret.
 * @example
 * const { totp, recoveryCodes } = await auth.factors.summary(userId);
 */
export interface FactorSummary {
  totp: { id: string; name: string; createdAt: number; lastUsedAt: number | null } | null;
  /** The user's passkeys, oldest first. */
  passkeys: PasskeyView[];
  /** Unused recovery codes left. */
  recoveryCodes: number;
}

/**
 * What an enrolment shows once: the secret to type or scan. Never stored as such.
 * @example
 * const { factorId, secret, uri, qrSvg } = await auth.factors.beginTotp(user);
 */
export interface TotpEnrolment {
  factorId: string;
  /** The shared secret in base32, for typing into an app. */
  secret: string;
  /** `otpauth://totp/...`: what the QR code holds. */
  uri: string;
  /** The URI as a QR code, an SVG document. */
  qrSvg: string;
}

/**
 * @example
 * const factors = new SecondFactors({ store: stores.factors, keys: null, clock, log: auth.log, issuer: "latchkey" });
 * console.log(factors.totpAvailable); // false: no key to seal secrets
 * const enrolment = await auth.factors.beginTotp({ id: user.id, username: user.username });
 * const { recoveryCodes } = await auth.factors.confirmTotp(user.id, enrolment.factorId, "492039", {});
 */
export class SecondFactors {
  readonly #store: FactorStore;
  readonly #keys: FactorKeys | null;
  readonly #clock: Clock;
  readonly #log: SecurityLog;
  readonly #issuer: string;
  readonly #random: RandomBytes;
  readonly #passkeys: Passkeys | null;

  constructor(deps: {
    store: FactorStore;
    /** The passkeys a second step may use; without, only codes. */
    passkeys?: Passkeys;
    /** `null`: no server key is configured, and no authenticator app can be added. */
    keys: FactorKeys | null;
    clock: Clock;
    log: SecurityLog;
    /** The name the authenticator app shows above the account. */
    issuer: string;
    random?: RandomBytes;
  }) {
    this.#store = deps.store;
    this.#keys = deps.keys;
    this.#clock = deps.clock;
    this.#log = deps.log;
    this.#issuer = deps.issuer;
    this.#random = deps.random ?? defaultRandomBytes;
    this.#passkeys = deps.passkeys ?? null;
  }

  /** The id of the key that seals new secrets (`FactorKeys.currentId`), or `null` without keys. */
  get currentKeyId(): string | null {
    return this.#keys?.currentId ?? null;
  }

  /** Whether authenticator apps can be added here (a server key is configured). */
  get totpAvailable(): boolean {
    return this.#keys !== null;
  }

  /** The user's confirmed factors. */
  async #confirmed(userId: string): Promise<FactorRecord[]> {
    return (await this.#store.listByUser(userId)).filter((f) => f.confirmedAt !== null);
  }

  /**
   * Whether a password alone does not sign the user in: they hold a confirmed factor.
   * @example
   * if (await auth.factors.hasAny(user.id)) console.log("a second step follows the password");
   */
  async hasAny(userId: string): Promise<boolean> {
    return (await this.#confirmed(userId)).length > 0;
  }

  /**
   * The methods the user's second step accepts: none when they have no factor.
   * @example
   * const methods = await auth.factors.methods(user.id); // ["totp", "recovery_code"]
   */
  async methods(userId: string): Promise<SecondFactorMethod[]> {
    const confirmed = await this.#confirmed(userId);
    if (confirmed.length === 0) return [];
    const methods: SecondFactorMethod[] = [];
    if (confirmed.some((f) => f.kind === "totp")) methods.push("totp");
    // Listed even when the server cannot check passkeys now (its origin changed): the step
    // then answers `409 factor_unavailable`, never lets the password alone through.
    if (confirmed.some((f) => f.kind === "passkey")) methods.push("passkey");
    if ((await this.#store.countRecoveryCodes(userId)) > 0) methods.push("recovery_code");
    return methods;
  }

  /**
   * The user's factors, without secrets.
   * @example
   * const { totp } = await auth.factors.summary(userId);
   */
  async summary(userId: string): Promise<FactorSummary> {
    const totp = (await this.#confirmed(userId)).find((f) => f.kind === "totp");
    return {
      totp: totp ? { id: totp.id, name: totp.name, createdAt: totp.createdAt, lastUsedAt: totp.lastUsedAt } : null,
      passkeys: this.#passkeys ? await this.#passkeys.list(userId) : [],
      recoveryCodes: await this.#store.countRecoveryCodes(userId),
    };
  }

  /**
   * Starts adding an authenticator app: a new secret, stored sealed and pending, shown
   * once. An earlier enrolment still pending is dropped; a confirmed app must be removed
   * first (`409 factor_exists`).
   */
  async beginTotp(user: { id: string; username: string }): Promise<TotpEnrolment> {
    const keys = this.#needKeys();
    if ((await this.#confirmed(user.id)).some((f) => f.kind === "totp")) {
      throw new AuthError("factor_exists", "An authenticator app is already set up: remove it first to add another.");
    }
    await this.#store.deletePending(user.id, "totp");
    const id = randomToken(ID_BYTES, this.#random);
    const key = this.#random(TOTP_SECRET_BYTES);
    const shown = totpEnrolment(key, this.#issuer, user.username);
    await this.#store.create({
      id,
      userId: user.id,
      kind: "totp",
      name: "Authenticator app",
      secret: keys.seal(shown.secret, sealContext(id, user.id)),
      credentialId: null,
      publicKey: null,
      signCount: null,
      transports: null,
      createdAt: this.#clock.now(),
      confirmedAt: null,
      lastUsedAt: null,
      lastStep: null,
    });
    return { factorId: id, ...shown };
  }

  /**
   * Confirms an enrolment with the app's first code: the factor protects the account from
   * now on, and the first set of recovery codes is made (returned once: shown, never
   * stored as such). A wrong code is `401 invalid_code` and leaves the enrolment pending.
   */
  async confirmTotp(
    userId: string,
    factorId: string,
    codeInput: string,
    context: EventContext,
  ): Promise<{ recoveryCodes: string[] }> {
    const factor = await this.#store.find(factorId);
    const now = this.#clock.now();
    if (
      !factor ||
      factor.userId !== userId ||
      factor.kind !== "totp" ||
      factor.confirmedAt !== null ||
      now - factor.createdAt > PENDING_TOTP_MS
    ) {
      throw new AuthError(
        "invalid_request",
        "This set-up is not pending any more (it was confirmed, replaced or is over 15 minutes old): start again.",
      );
    }
    const step = this.#match(factor, codeInput, now);
    if (step === null) throw invalidCode();
    if (!(await this.#store.confirm(factor.id, now, step))) {
      // Another set-up of this account, confirmed first (two tabs at once), or this one raced.
      if ((await this.#confirmed(userId)).some((f) => f.kind === "totp")) {
        throw new AuthError("factor_exists", "An authenticator app is already set up: remove it first to add another.");
      }
      throw invalidCode();
    }
    const hadCodes = (await this.#store.countRecoveryCodes(userId)) > 0;
    const recoveryCodes = hadCodes ? [] : await this.#newRecoveryCodes(userId);
    await this.#log.record("totp_enabled", userId, context);
    if (!hadCodes) await this.#log.record("recovery_codes_generated", userId, context);
    return { recoveryCodes };
  }

  /**
   * Removes the authenticator app. With no factor left, the recovery codes go too: the
   * password alone signs in again. `false` when there was none.
   */
  async removeTotp(userId: string, context: EventContext): Promise<boolean> {
    const totp = (await this.#store.listByUser(userId)).filter((f) => f.kind === "totp");
    let removed = false;
    for (const factor of totp) {
      const deleted = await this.#store.delete(factor.id);
      removed ||= deleted && factor.confirmedAt !== null;
    }
    if (!removed) return false;
    if (!(await this.hasAny(userId))) await this.#store.deleteRecoveryCodes(userId);
    await this.#log.record("totp_disabled", userId, context);
    return true;
  }

  /**
   * After a factor was added: the first set of recovery codes when the user has none
   * (answered once), else an empty list.
   * @example
   * const recoveryCodes = await auth.factors.firstRecoveryCodes(userId, {});
   */
  async firstRecoveryCodes(userId: string, context: EventContext): Promise<string[]> {
    if ((await this.#store.countRecoveryCodes(userId)) > 0) return [];
    const codes = await this.#newRecoveryCodes(userId);
    await this.#log.record("recovery_codes_generated", userId, context);
    return codes;
  }

  /**
   * Drops the recovery codes of a user left with no factor: the password alone signs in again.
   * @example
   * await auth.factors.afterRemoval(userId);
   */
  async afterRemoval(userId: string): Promise<void> {
    if (!(await this.hasAny(userId))) await this.#store.deleteRecoveryCodes(userId);
  }

  /**
   * A new set of recovery codes, voiding the old; only for a user with a factor
   * (`400 invalid_request` otherwise: codes alone protect nothing).
   */
  async regenerateRecoveryCodes(userId: string, context: EventContext): Promise<string[]> {
    if (!(await this.hasAny(userId))) {
      throw new AuthError("invalid_request", "Recovery codes come with a second factor: add one first.");
    }
    const codes = await this.#newRecoveryCodes(userId);
    await this.#log.record("recovery_codes_generated", userId, context);
    return codes;
  }

  /**
   * Checks a second step's proof for the user: a code of their app (once per step, on
   * every instance) or one of their unused recovery codes (used up by this). Returns the
   * RFC 8176 methods it adds to the password's `pwd`; `401 invalid_code` when it fails.
   * The caller throttles: this only checks.
   */
  async verify(userId: string, proof: SecondFactorProof, context: EventContext): Promise<string[]> {
    const now = this.#clock.now();
    if (proof.passkey !== undefined) {
      if (!this.#passkeys) throw invalidCode();
      return (await this.#passkeys.verify(proof.challenge, proof.passkey, userId, context)).amr;
    }
    if (proof.recoveryCode !== undefined) {
      const normal = normalizeRecoveryCode(proof.recoveryCode);
      if (normal === null || !(await this.#store.useRecoveryCode(userId, hashSecret(normal), now))) {
        throw invalidCode();
      }
      const left = await this.#store.countRecoveryCodes(userId);
      await this.#log.record("recovery_code_used", userId, { ...context, detail: JSON.stringify({ left }) });
      return ["mfa", "otp"];
    }
    const totp = (await this.#confirmed(userId)).find((f) => f.kind === "totp");
    if (!totp) throw invalidCode();
    const step = this.#match(totp, proof.code, now);
    if (step === null || !(await this.#store.useStep(totp.id, step, now))) throw invalidCode();
    await this.#reseal(totp);
    return ["mfa", "otp"];
  }

  #match(factor: FactorRecord, codeInput: string, now: number): number | null {
    const code = normalizeTotpCode(codeInput);
    if (code === null || factor.secret === null) return null;
    const secret = this.#needKeys().open(factor.secret, sealContext(factor.id, factor.userId));
    return matchTotp(totpKey(secret), code, now);
  }

  /** Re-seals a secret sealed under an older key, now that it was opened anyway. */
  async #reseal(factor: FactorRecord): Promise<void> {
    const keys = this.#needKeys();
    if (factor.secret === null || keys.isCurrent(factor.secret)) return;
    const context = sealContext(factor.id, factor.userId);
    await this.#store.updateSecret(factor.id, keys.seal(keys.open(factor.secret, context), context));
  }

  /**
   * Re-seals every TOTP secret of these users under the current key; returns how many
   * changed (`latchkey factors reseal`, after a new key is put first).
   * @example
   * const changed = await auth.factors.reseal(userIds);
   */
  async reseal(userIds: Iterable<string>): Promise<number> {
    let changed = 0;
    const keys = this.#needKeys();
    for (const userId of userIds) {
      for (const factor of await this.#store.listByUser(userId)) {
        if (factor.secret === null || keys.isCurrent(factor.secret)) continue;
        await this.#reseal(factor);
        changed++;
      }
    }
    return changed;
  }

  async #newRecoveryCodes(userId: string): Promise<string[]> {
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => this.#recoveryCode());
    const hashes = codes.map((code) => hashSecret(normalizeRecoveryCode(code) as string));
    await this.#store.replaceRecoveryCodes(userId, hashes, this.#clock.now());
    return codes;
  }

  #recoveryCode(): string {
    // 32 symbols from a byte each: 256 is a multiple of 32, so no symbol is likelier.
    const bytes = this.#random(RECOVERY_LENGTH);
    const chars = Array.from(bytes, (b) => RECOVERY_ALPHABET[b % 32]).join("");
    return chars.match(/.{4}/g)?.join("-") ?? chars;
  }

  #needKeys(): FactorKeys {
    if (!this.#keys) {
      throw new AuthError(
        "factor_unavailable",
        "Authenticator apps are not set up on this server: it has no key to seal their secrets (MFA_KEYS).",
      );
    }
    return this.#keys;
  }
}

/** What a sealed secret is bound to: its own factor and user. */
function sealContext(factorId: string, userId: string): string {
  return `latchkey:totp:${factorId}:${userId}`;
}

/**
 * A typed recovery code in its one stored form: lower-case, no spaces or dashes, and the
 * letters people confuse with digits read as those digits; `null` when it cannot be one.
 * @example
 * normalizeRecoveryCode("ABCD-EFGH-JKMN-PQRS"); // "abcdefghjkmnpqrs"
 */
export function normalizeRecoveryCode(input: string): string | null {
  const normal = input.toLowerCase().replace(/[\s-]/g, "").replace(/[il]/g, "1").replace(/o/g, "0");
  return normal.length === RECOVERY_LENGTH && [...normal].every((c) => RECOVERY_ALPHABET.includes(c)) ? normal : null;
}

function invalidCode(): AuthError {
  return new AuthError("invalid_code", "That code is not valid: it is wrong, was already used, or has expired.");
}
