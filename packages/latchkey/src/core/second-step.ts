/**
 * The second step of a password sign-in (`docs/accounts.md`, "Signing in with a second
 * factor"). A right password for an account with a second factor opens no session: it
 * opens a pending sign-in, a short-lived, single-purpose state whose token the client
 * holds (a browser in an HttpOnly cookie, so it stays with that browser; a bearer client
 * as `pending_token`), and that only the second step accepts. The second step checks a
 * code against the account's factor, throttled per account and per address like
 * passwords, and five wrong codes end the pending sign-in. Only then does the caller open
 * a session, with `amr` saying both steps.
 */
import type { Clock } from "./clock.js";
import { AuthError } from "./errors.js";
import type { SecondFactorMethod, SecondFactorProof, SecondFactors } from "./factors.js";
import type { LoginThrottle } from "./login-throttle.js";
import type { ChallengeStore, ClientInfo, UserStore } from "./ports.js";
import type { UserRecord } from "./records.js";
import {
  defaultRandomBytes,
  hashSecret,
  ID_BYTES,
  type RandomBytes,
  randomToken,
  SECRET_BYTES,
  safeEqual,
} from "./secrets.js";
import type { SecurityLog } from "./security-log.js";
import { formatSessionToken, parseSessionToken } from "./session-token.js";

/**
 * How long a pending sign-in waits for its second step, seconds.
 * @example
 * const { expiresIn } = await auth.secondStep.begin(user, { flow: "token", remember: false, memory: false }, ["totp"]); // PENDING_SIGN_IN_TTL
 */
export const PENDING_SIGN_IN_TTL = 300;
/** Wrong codes one pending sign-in takes before it ends. */
export const PENDING_SIGN_IN_TRIES = 5;

/**
 * What the first step decided, carried to the second: how the session will be opened.
 * @example
 * const first: FirstStep = { flow: "browser", remember: false, memory: false };
 */
export interface FirstStep {
  /** `browser`: `POST /auth/login` (cookies, or memory mode); `token`: `POST /auth/token`. */
  flow: "browser" | "token";
  remember: boolean;
  /** A browser login that keeps its access token in memory (`mode: memory`). */
  memory: boolean;
}

/**
 * A pending sign-in, as its first step answers it.
 * @example
 * const pending: PendingSignIn = await auth.secondStep.begin(user, { flow: "browser", remember: false, memory: false }, ["totp"]);
 * console.log(pending.methods, pending.expiresIn);
 */
export interface PendingSignIn {
  /** `id.secret`: the cookie's value, or `pending_token`. */
  token: string;
  methods: SecondFactorMethod[];
  /** Seconds it waits. */
  expiresIn: number;
}

/**
 * What the second step works with.
 * @example
 * const deps: SecondStepDeps = {
 *   challenges: stores.challenges,
 *   users: stores.users,
 *   factors: auth.factors,
 *   throttle: auth.throttle,
 *   log: auth.log,
 *   clock,
 * };
 */
export interface SecondStepDeps {
  challenges: ChallengeStore;
  users: UserStore;
  factors: SecondFactors;
  throttle: LoginThrottle;
  log: SecurityLog;
  clock: Clock;
  random?: RandomBytes;
  /** The device id a device cookie proves for the account, or `null` (`DeviceCookies.verify`). */
  deviceOf?: (cookie: string | undefined, userId: string) => string | null;
}

/**
 * @example
 * const client = { ip, userAgent: "curl/8.5" };
 * const pending = await auth.secondStep.begin(user, { flow: "token", remember: false, memory: false }, ["totp"]);
 * const { user: signedIn, amr } = await auth.secondStep.complete(pending.token, { code: "492039" }, client, "token");
 * console.log(signedIn.username, amr); // ["mfa", "otp", "pwd"]
 */
export class SecondStep {
  readonly #deps: SecondStepDeps;

  constructor(deps: SecondStepDeps) {
    this.#deps = deps;
  }

  /**
   * The methods the user's second step takes, or an empty list when a password alone
   * signs them in (no factor).
   */
  methods(userId: string): Promise<SecondFactorMethod[]> {
    return this.#deps.factors.methods(userId);
  }

  /**
   * Checks a second factor's proof for `userId`, throttled per account and per address
   * (a wrong code counts, and is logged as `second_factor_failed`): the second step of a
   * sign-in, and a re-authentication. Returns the `amr` methods it adds.
   */
  async check(
    userId: string,
    proof: SecondFactorProof,
    client: ClientInfo & { sessionId?: string; deviceCookie?: string | undefined },
  ): Promise<string[]> {
    const device = this.#deps.deviceOf?.(client.deviceCookie, userId) ?? null;
    const { ip, userAgent, sessionId } = client;
    const attempt = await this.#deps.throttle.begin({ secondFactorOf: userId, ip, device, sessionId });
    try {
      const added = await this.#deps.factors.verify(userId, proof, { ip, userAgent, sessionId });
      await attempt.succeeded();
      return added;
    } catch (error) {
      if (error instanceof AuthError && error.code === "invalid_code") {
        await this.#deps.log.record("second_factor_failed", userId, { ip, userAgent, sessionId });
      } else {
        await attempt.withdraw();
      }
      throw error;
    }
  }

  /**
   * Opens a pending sign-in for a user whose password was right. With `client`, it is in
   * the user's log (`second_factor_requested`): a sign-in abandoned at its code tells the
   * owner that someone knows the password.
   */
  async begin(
    user: UserRecord,
    first: FirstStep,
    methods: SecondFactorMethod[],
    client?: ClientInfo,
  ): Promise<PendingSignIn> {
    const random = this.#deps.random ?? defaultRandomBytes;
    const id = randomToken(ID_BYTES, random);
    const secret = randomToken(SECRET_BYTES, random);
    const now = this.#deps.clock.now();
    await this.#deps.challenges.create({
      id,
      userId: user.id,
      purpose: "second_factor",
      secretHash: hashSecret(secret),
      data: JSON.stringify({ ...first, amr: ["pwd"] }),
      createdAt: now,
      expiresAt: now + PENDING_SIGN_IN_TTL * 1000,
      usedAt: null,
      failures: 0,
    });
    if (client) await this.#deps.log.record("second_factor_requested", user.id, client);
    return { token: formatSessionToken({ id, secret }), methods, expiresIn: PENDING_SIGN_IN_TTL };
  }

  /**
   * The second step: the pending sign-in of `token` (begun by `flow`), passed with
   * `proof`. Returns the user and what the first step decided, with the session's `amr`;
   * the pending sign-in is used up. Refusals: `401 sign_in_expired` (no such pending
   * sign-in, expired, used, of the other flow, or ended by wrong codes: sign in again),
   * `401 invalid_code` (counted), `429` over the limits, `403 account_disabled`.
   */
  async complete(
    token: string | undefined,
    proof: SecondFactorProof,
    client: ClientInfo & { deviceCookie?: string | undefined },
    flow: FirstStep["flow"],
  ): Promise<{ user: UserRecord; first: FirstStep; amr: string[] }> {
    const { challenges, clock } = this.#deps;
    const parts = parseSessionToken(token ?? "");
    const pending = parts ? await challenges.find(parts.id) : null;
    const now = clock.now();
    if (
      !parts ||
      !pending ||
      pending.purpose !== "second_factor" ||
      pending.userId === null ||
      pending.usedAt !== null ||
      now >= pending.expiresAt ||
      !safeEqual(hashSecret(parts.secret), pending.secretHash)
    ) {
      throw signInExpired();
    }
    const first = JSON.parse(pending.data) as FirstStep & { amr: string[] };
    if (first.flow !== flow) throw signInExpired();
    const userId = pending.userId;
    let added: string[];
    try {
      added = await this.check(userId, proof, client);
    } catch (error) {
      if (!(error instanceof AuthError && error.code === "invalid_code")) throw error;
      const failures = await challenges.fail(pending.id, clock.now());
      // Used or expired meanwhile (a racing request): over, as any such sign-in.
      if (failures === null) throw signInExpired();
      if (failures >= PENDING_SIGN_IN_TRIES) {
        await challenges.use(pending.id, clock.now());
        throw new AuthError(
          "sign_in_expired",
          `${PENDING_SIGN_IN_TRIES} wrong codes ended this sign-in: sign in again with your password.`,
        );
      }
      throw error;
    }
    // Single use: of two requests racing with one right code, one signs in.
    if (!(await challenges.use(pending.id, clock.now()))) throw signInExpired();
    const user = await this.#deps.users.findById(userId);
    if (!user) throw signInExpired();
    if (user.disabledAt !== null) throw new AuthError("account_disabled", "This account has been disabled.");
    const amr = [...new Set([...first.amr, ...added])].sort();
    return { user, first: { flow: first.flow, remember: first.remember, memory: first.memory }, amr };
  }
}

function signInExpired(): AuthError {
  return new AuthError(
    "sign_in_expired",
    "This sign-in has expired or is already complete: sign in again with your password.",
  );
}
