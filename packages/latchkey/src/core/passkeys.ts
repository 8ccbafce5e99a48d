/**
 * Passkeys (`docs/accounts.md`, "Passkeys"): WebAuthn credentials, checked with
 * `@simplewebauthn/server`. A person registers several, names them and removes them; one
 * signs in alone (a discoverable credential: the authenticator knows whose it is) or as
 * the second step after a password, and re-authenticates a session.
 *
 * - Every ceremony's challenge is 32 random bytes, stored as a `challenges` row that is
 *   used once and lives five minutes. A registration's is bound to the session that asked
 *   for it; a sign-in's to the browser (or API client) that asked, by a token only it
 *   holds: an HttpOnly cookie, or `challenge_token`, stored as its SHA-256 only.
 * - User verification is required (a PIN or a fingerprint at the authenticator), so a
 *   passkey is two factors on its own: its `amr` is `hwk`, `mfa` (RFC 8176).
 * - The signature counter is checked and moved forward in one conditional write: an
 *   authenticator that counts and sends a count not past the stored one is a clone, and is
 *   refused (authenticators that do not count send 0 every time, which passes).
 * - Only the public key is stored: a passkey holds no secret on the server.
 */
import {
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  generateAuthenticationOptions,
  generateRegistrationOptions,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import { isoBase64URL } from "@simplewebauthn/server/helpers";
import { getPublicSuffix } from "tldts";
import type { Clock } from "./clock.js";
import { AuthError } from "./errors.js";
import type { ChallengeStore, FactorStore, UserStore } from "./ports.js";
import type { ChallengeRecord, FactorRecord, UserRecord } from "./records.js";
import {
  defaultRandomBytes,
  hashSecret,
  ID_BYTES,
  type RandomBytes,
  randomToken,
  SECRET_BYTES,
  safeEqual,
} from "./secrets.js";
import type { EventContext, SecurityLog } from "./security-log.js";
import { formatSessionToken, parseSessionToken } from "./session-token.js";

/**
 * How long a ceremony's challenge waits for the authenticator, seconds.
 * @example
 * const { expiresIn } = await auth.passkeys.signInOptions(); // PASSKEY_CHALLENGE_TTL
 */
export const PASSKEY_CHALLENGE_TTL = 300;
/**
 * The longest name a passkey may have, in characters.
 * @example
 * const fits = [...name].length <= PASSKEY_NAME_MAX;
 */
export const PASSKEY_NAME_MAX = 64;
/**
 * Passkey challenges one client address may ask for within the login throttle's window:
 * sign-ins (many people behind one office's address sign in), and registrations (only a
 * signed-in person asks, rarely). Every challenge is a stored row until it expires.
 * @example
 * await auth.passkeys.signInOptions(ip); // 429 rate_limited past PASSKEY_CHALLENGES_PER_ADDRESS.sign_in
 */
export const PASSKEY_CHALLENGES_PER_ADDRESS = { sign_in: 300, register: 30 } as const;
/**
 * How many passkeys one account may hold.
 * @example
 * const full = (await auth.passkeys.list(userId)).length >= PASSKEYS_PER_USER;
 */
export const PASSKEYS_PER_USER = 20;
/**
 * RFC 8176 methods of a sign-in with a passkey: a hardware-held key, and user verification at it.
 * @example
 * const byPasskey = PASSKEY_AMR.every((method) => session.amr.includes(method));
 */
export const PASSKEY_AMR = ["hwk", "mfa"] as const;

/**
 * Where passkeys are valid: the relying party's id (a domain: the site's host or a
 * registrable suffix of it), the name authenticators show, and the origins whose pages
 * may use them.
 * @example
 * const party: RelyingParty = { id: "example.com", name: "Example", origins: ["https://app.example.com"] };
 */
export interface RelyingParty {
  id: string;
  name: string;
  origins: string[];
}

/**
 * A passkey as its owner sees it: never the key.
 * @example
 * const list: PasskeyView[] = await auth.passkeys.list(userId);
 */
export interface PasskeyView {
  id: string;
  name: string;
  createdAt: number;
  lastUsedAt: number | null;
}

/**
 * A sign-in ceremony's options for `navigator.credentials.get`, and the token that binds
 * its challenge to whoever asked (a cookie's value, or `challenge_token`).
 * @example
 * const { options, token, expiresIn } = await auth.passkeys.signInOptions();
 */
export interface PasskeyChallenge<Options> {
  options: Options;
  token: string;
  expiresIn: number;
}

/** What a registration's challenge row keeps. */
interface RegisterData {
  challenge: string;
  sessionId: string;
}

/**
 * @example
 * const passkeys = new Passkeys({
 *   store: stores.factors,
 *   challenges: stores.challenges,
 *   users: stores.users,
 *   clock,
 *   log: auth.log,
 *   relyingParty: () => ({ id: "localhost", name: "latchkey", origins: ["http://localhost:3000"] }),
 * });
 * const { options } = await passkeys.registrationOptions(user, sessionId);
 */
export class Passkeys {
  readonly #store: FactorStore;
  readonly #challenges: ChallengeStore;
  readonly #users: UserStore;
  readonly #clock: Clock;
  readonly #log: SecurityLog;
  readonly #party: () => RelyingParty | null;
  readonly #random: RandomBytes;
  readonly #limit: (ip: string, ceremony: "sign_in" | "register") => Promise<void>;

  constructor(deps: {
    store: FactorStore;
    challenges: ChallengeStore;
    users: UserStore;
    clock: Clock;
    log: SecurityLog;
    /** Where passkeys are valid; `null`: nowhere (the deployment's origin is no domain). */
    relyingParty: () => RelyingParty | null;
    random?: RandomBytes;
    /**
     * Counts a challenge asked for from an address, refusing (`429`) past a limit: every
     * challenge is a stored row, and the sign-in's is asked for by anyone.
     */
    limitPerAddress?: (ip: string, ceremony: "sign_in" | "register") => Promise<void>;
  }) {
    this.#store = deps.store;
    this.#challenges = deps.challenges;
    this.#users = deps.users;
    this.#clock = deps.clock;
    this.#log = deps.log;
    this.#party = deps.relyingParty;
    this.#random = deps.random ?? defaultRandomBytes;
    this.#limit = deps.limitPerAddress ?? (async () => {});
  }

  /** Whether passkeys work here: the deployment has a domain to bind them to. */
  get available(): boolean {
    return this.#party() !== null;
  }

  /**
   * The user's passkeys, oldest first.
   * @example
   * for (const passkey of await auth.passkeys.list(userId)) console.log(passkey.name);
   */
  async list(userId: string): Promise<PasskeyView[]> {
    return (await this.#passkeysOf(userId)).map(view);
  }

  /**
   * Starts registering a passkey for `user` from session `sessionId`: the options for
   * `navigator.credentials.create`. Its challenge is good once, for five minutes, from this
   * session only. The passkeys the user has are excluded, so an authenticator is not
   * registered twice. With `ip`, the challenge counts against that address's limit
   * (`PASSKEY_CHALLENGES_PER_ADDRESS`). `400 invalid_request` past `PASSKEYS_PER_USER`,
   * `409 factor_unavailable` when the deployment has no domain for passkeys.
   * @example
   * const { options } = await auth.passkeys.registrationOptions(user, sessionId, ip);
   * // options go to navigator.credentials.create; its answer to auth.passkeys.register
   */
  async registrationOptions(
    user: { id: string; username: string },
    sessionId: string,
    ip?: string,
  ): Promise<{ options: PublicKeyCredentialCreationOptionsJSON }> {
    const party = this.#needParty();
    if (ip !== undefined) await this.#limit(ip, "register");
    const mine = await this.#passkeysOf(user.id);
    if (mine.length >= PASSKEYS_PER_USER) throw tooMany();
    const challenge = isoBase64URL.fromBuffer(new Uint8Array(this.#random(SECRET_BYTES)));
    const options = await generateRegistrationOptions({
      rpName: party.name,
      rpID: party.id,
      userName: user.username,
      userDisplayName: user.username,
      // The user handle the authenticator keeps: the account's id, nothing personal.
      userID: new TextEncoder().encode(user.id),
      challenge: isoBase64URL.toBuffer(challenge),
      timeout: PASSKEY_CHALLENGE_TTL * 1000,
      attestationType: "none",
      excludeCredentials: mine.map((p) => ({ id: p.credentialId as string, transports: transportsOf(p) })),
      authenticatorSelection: { residentKey: "required", userVerification: "required" },
    });
    const now = this.#clock.now();
    const data: RegisterData = { challenge, sessionId };
    await this.#challenges.create({
      // Found again by the challenge the browser signed: it comes back in clientDataJSON.
      id: registrationChallengeId(challenge),
      userId: user.id,
      purpose: "passkey_register",
      secretHash: hashSecret(challenge),
      data: JSON.stringify(data),
      createdAt: now,
      expiresAt: now + PASSKEY_CHALLENGE_TTL * 1000,
      usedAt: null,
      failures: 0,
    });
    return { options };
  }

  /**
   * Finishes a registration: checks the authenticator's answer against the challenge this
   * session was given (once), with user verification, and stores the credential's public
   * key under `name` (default "Passkey", "Passkey 2", ...). Refusals: `401
   * invalid_passkey` when the answer does not verify or its challenge is not this
   * session's live one; `409 factor_exists` when the credential is registered already;
   * `400 invalid_request` for a name that is not 1 to `PASSKEY_NAME_MAX` characters.
   * @example
   * const added = await auth.passkeys.register(user, sessionId, response, "Phone", { sessionId, ip });
   */
  async register(
    user: { id: string; username: string },
    sessionId: string,
    response: RegistrationResponseJSON,
    name: string | undefined,
    context: EventContext,
  ): Promise<PasskeyView> {
    const party = this.#needParty();
    // Refused before the challenge is spent: a wrong name, or a full account, costs a retry
    // of the form, not a new ceremony (the authenticator has made its credential already).
    const mine = await this.#passkeysOf(user.id);
    const chosen = passkeyName(name, mine);
    if (mine.length >= PASSKEYS_PER_USER) throw tooMany();
    const challenge = challengeOf(response);
    const row = challenge === null ? null : await this.#challenges.find(registrationChallengeId(challenge));
    const data = row ? (JSON.parse(row.data) as RegisterData) : null;
    if (
      !row ||
      !data ||
      row.purpose !== "passkey_register" ||
      row.userId !== user.id ||
      data.sessionId !== sessionId ||
      !(await this.#challenges.use(row.id, this.#clock.now()))
    ) {
      throw staleChallenge();
    }
    let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>;
    try {
      verified = await verifyRegistrationResponse({
        response,
        expectedChallenge: data.challenge,
        expectedOrigin: party.origins,
        expectedRPID: party.id,
        requireUserVerification: true,
      });
    } catch (error) {
      throw notVerified(error);
    }
    if (!verified.verified) throw notVerified();
    const { credential } = verified.registrationInfo;
    const id = randomToken(ID_BYTES, this.#random);
    const now = this.#clock.now();
    const factor: FactorRecord = {
      id,
      userId: user.id,
      kind: "passkey",
      name: chosen,
      secret: null,
      credentialId: credential.id,
      publicKey: isoBase64URL.fromBuffer(credential.publicKey),
      signCount: credential.counter,
      transports: credential.transports?.length ? credential.transports.join(",") : null,
      createdAt: now,
      // Proved by the registration itself: it protects the account at once.
      confirmedAt: now,
      lastUsedAt: null,
      lastStep: null,
    };
    if (!(await this.#store.create(factor))) {
      throw new AuthError("factor_exists", "This passkey is registered already.");
    }
    await this.#log.record("passkey_added", user.id, { ...context, detail: JSON.stringify({ name: factor.name }) });
    return view(factor);
  }

  /**
   * Renames one of the user's passkeys; `null` when they have no such passkey.
   * @example
   * const renamed = await auth.passkeys.rename(userId, passkeyId, "Work laptop");
   */
  async rename(userId: string, id: string, name: string): Promise<PasskeyView | null> {
    const factor = await this.#store.find(id);
    if (!factor || factor.userId !== userId || factor.kind !== "passkey") return null;
    const clean = checkName(name);
    if (!(await this.#store.rename(id, clean))) return null;
    return view({ ...factor, name: clean });
  }

  /**
   * Removes one of the user's passkeys; `false` when they have no such passkey. The
   * caller drops the recovery codes when no factor is left.
   * @example
   * if (await auth.passkeys.remove(userId, passkeyId, { sessionId, ip })) await auth.factors.afterRemoval(userId);
   */
  async remove(userId: string, id: string, context: EventContext): Promise<boolean> {
    const factor = await this.#store.find(id);
    if (!factor || factor.userId !== userId || factor.kind !== "passkey") return false;
    if (!(await this.#store.delete(id))) return false;
    await this.#log.record("passkey_removed", userId, { ...context, detail: JSON.stringify({ name: factor.name }) });
    return true;
  }

  /**
   * Starts a passkey sign-in (alone, as a second step, or to re-authenticate): options for
   * `navigator.credentials.get` with no credential named (the authenticator offers the
   * discoverable ones it holds for this site), and the token that binds the challenge to
   * the caller. The challenge is good once, for five minutes. With `ip`, it counts against
   * that address's limit (`PASSKEY_CHALLENGES_PER_ADDRESS`).
   * @example
   * const { options, token, expiresIn } = await auth.passkeys.signInOptions(ip);
   * // options go to navigator.credentials.get; token to a cookie or `challenge_token`
   */
  async signInOptions(ip?: string): Promise<PasskeyChallenge<PublicKeyCredentialRequestOptionsJSON>> {
    const party = this.#needParty();
    if (ip !== undefined) await this.#limit(ip, "sign_in");
    const challenge = isoBase64URL.fromBuffer(new Uint8Array(this.#random(SECRET_BYTES)));
    const options = await generateAuthenticationOptions({
      rpID: party.id,
      challenge: isoBase64URL.toBuffer(challenge),
      timeout: PASSKEY_CHALLENGE_TTL * 1000,
      userVerification: "required",
    });
    const id = randomToken(ID_BYTES, this.#random);
    const secret = randomToken(SECRET_BYTES, this.#random);
    const now = this.#clock.now();
    await this.#challenges.create({
      id,
      userId: null,
      purpose: "passkey_sign_in",
      secretHash: hashSecret(secret),
      data: JSON.stringify({ challenge }),
      createdAt: now,
      expiresAt: now + PASSKEY_CHALLENGE_TTL * 1000,
      usedAt: null,
      failures: 0,
    });
    return { options, token: formatSessionToken({ id, secret }), expiresIn: PASSKEY_CHALLENGE_TTL };
  }

  /**
   * Checks a sign-in ceremony's answer: the challenge of `token` (this caller's, live,
   * used up by this), the credential (registered, and `expectedUser`'s when given), the
   * signature with user verification, and the counter. Returns the user (enabled or not:
   * the caller decides) and the `amr` of a passkey. Refusals are `401 invalid_passkey`; an
   * answer from a registered passkey that does not verify (a bad signature, another site, no
   * user verification, a counter gone back: a copied authenticator) is in its owner's log
   * as `passkey_rejected`, with `context`.
   * @example
   * const { user: signedIn, amr } = await auth.passkeys.verify(token, response);
   */
  async verify(
    token: string | undefined,
    response: AuthenticationResponseJSON,
    expectedUser?: string,
    context: EventContext = {},
  ): Promise<{ user: UserRecord; passkey: PasskeyView; amr: string[] }> {
    const party = this.#needParty();
    const row = await this.#liveSignInChallenge(token);
    if (!row || !(await this.#challenges.use(row.id, this.#clock.now()))) throw staleChallenge();
    const { challenge } = JSON.parse(row.data) as { challenge: string };
    const factor = typeof response?.id === "string" ? await this.#store.findByCredential(response.id) : null;
    if (factor?.kind !== "passkey" || factor.publicKey === null) {
      throw new AuthError("invalid_passkey", "This passkey is not registered here (it may have been removed).");
    }
    if (expectedUser !== undefined && factor.userId !== expectedUser) {
      throw new AuthError("invalid_passkey", "This passkey belongs to another account: choose one of this account's.");
    }
    try {
      return await this.#check({ ...factor, publicKey: factor.publicKey }, challenge, response, party);
    } catch (error) {
      if (error instanceof AuthError && error.code === "invalid_passkey") {
        const detail = JSON.stringify({ name: factor.name, reason: error.message });
        await this.#log.record("passkey_rejected", factor.userId, { ...context, detail });
      }
      throw error;
    }
  }

  /** The signature, user verification and counter of a registered passkey's answer. */
  async #check(
    factor: FactorRecord & { publicKey: string },
    challenge: string,
    response: AuthenticationResponseJSON,
    party: RelyingParty,
  ): Promise<{ user: UserRecord; passkey: PasskeyView; amr: string[] }> {
    // The user handle, when the authenticator sends one, must be the credential's owner.
    const handle = response.response?.userHandle;
    if (handle && handle !== isoBase64URL.fromUTF8String(factor.userId)) throw notVerified();
    let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>;
    try {
      verified = await verifyAuthenticationResponse({
        response,
        expectedChallenge: challenge,
        expectedOrigin: party.origins,
        expectedRPID: party.id,
        credential: {
          id: factor.credentialId as string,
          publicKey: isoBase64URL.toBuffer(factor.publicKey),
          counter: factor.signCount ?? 0,
          transports: transportsOf(factor),
        },
        requireUserVerification: true,
      });
    } catch (error) {
      throw notVerified(error);
    }
    if (!verified.verified) throw notVerified();
    const now = this.#clock.now();
    // Of two answers racing with one counter value (a cloned authenticator), one passes.
    if (!(await this.#store.usePasskey(factor.id, verified.authenticationInfo.newCounter, now))) {
      throw new AuthError(
        "invalid_passkey",
        "This passkey's signature counter went backwards: the authenticator may have been copied.",
      );
    }
    const user = await this.#users.findById(factor.userId);
    if (!user) throw staleChallenge();
    return { user, passkey: view({ ...factor, lastUsedAt: now }), amr: [...PASSKEY_AMR] };
  }

  async #liveSignInChallenge(token: string | undefined): Promise<ChallengeRecord | null> {
    const parts = parseSessionToken(token ?? "");
    const row = parts ? await this.#challenges.find(parts.id) : null;
    if (
      !parts ||
      !row ||
      row.purpose !== "passkey_sign_in" ||
      row.usedAt !== null ||
      this.#clock.now() >= row.expiresAt ||
      !safeEqual(hashSecret(parts.secret), row.secretHash)
    ) {
      return null;
    }
    return row;
  }

  async #passkeysOf(userId: string): Promise<FactorRecord[]> {
    return (await this.#store.listByUser(userId)).filter((f) => f.kind === "passkey" && f.credentialId !== null);
  }

  #needParty(): RelyingParty {
    const party = this.#party();
    if (!party) {
      throw new AuthError(
        "factor_unavailable",
        "Passkeys are not available on this server: its origin has no domain name to bind them to (an IP address or no http(s) origin; set PUBLIC_ORIGIN, or passkeys.rpId).",
      );
    }
    return party;
  }
}

/**
 * The relying party of an origin, or `null` when it can have none (not http(s), or an IP
 * address: WebAuthn binds a credential to a domain).
 * @example
 * relyingPartyOf("https://auth.example.com", "Example"); // { id: "auth.example.com", ... }
 */
export function relyingPartyOf(
  origin: string,
  name: string,
  options: { rpId?: string | undefined; origins?: readonly string[] | undefined } = {},
): RelyingParty | null {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  const host = url.hostname;
  if (/^[\d.]+$/.test(host) || host.startsWith("[")) return null;
  const id = options.rpId ?? host;
  if (!(host === id || host.endsWith(`.${id}`))) {
    throw new Error(`passkeys.rpId ${JSON.stringify(id)} must be ${host} or a domain it is under`);
  }
  // Browsers refuse a public suffix ("co.uk", "github.io") as a relying party.
  if (id !== host && getPublicSuffix(id, { allowPrivateDomains: true }) === id) {
    throw new Error(`passkeys.rpId ${JSON.stringify(id)} is a public suffix: name ${host} or a domain under it`);
  }
  return { id, name, origins: [url.origin, ...(options.origins ?? [])] };
}

/** The challenge a WebAuthn answer signed (base64url, from its clientDataJSON), or `null`. */
function challengeOf(response: RegistrationResponseJSON): string | null {
  try {
    const json = isoBase64URL.toUTF8String(response.response.clientDataJSON);
    const challenge = (JSON.parse(json) as { challenge?: unknown }).challenge;
    return typeof challenge === "string" && challenge.length > 0 && challenge.length <= 128 ? challenge : null;
  } catch {
    return null;
  }
}

/** A registration's challenge row id: a hash of the challenge, so a row is found by what the browser signed. */
function registrationChallengeId(challenge: string): string {
  return hashSecret(`passkey_register:${challenge}`).slice(0, 43);
}

function transportsOf(factor: FactorRecord): AuthenticatorTransportFuture[] | undefined {
  return factor.transports ? (factor.transports.split(",") as AuthenticatorTransportFuture[]) : undefined;
}

function view(factor: FactorRecord): PasskeyView {
  return { id: factor.id, name: factor.name, createdAt: factor.createdAt, lastUsedAt: factor.lastUsedAt };
}

/** A passkey's name, trimmed and checked: 1 to 64 characters, no control characters. */
function checkName(name: string): string {
  const clean = name.trim();
  const length = [...clean].length;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing them is the point
  if (length === 0 || length > PASSKEY_NAME_MAX || /[\u0000-\u001f\u007f]/.test(clean)) {
    throw new AuthError(
      "invalid_request",
      `A passkey's name has 1 to ${PASSKEY_NAME_MAX} characters, none of them control characters.`,
    );
  }
  return clean;
}

/** The name given, or "Passkey", "Passkey 2", ... after the ones the user has. */
function passkeyName(name: string | undefined, existing: FactorRecord[]): string {
  if (name !== undefined && name.trim() !== "") return checkName(name);
  const taken = new Set(existing.map((f) => f.name));
  let n = existing.length + 1;
  let candidate = n === 1 ? "Passkey" : `Passkey ${n}`;
  while (taken.has(candidate)) candidate = `Passkey ${++n}`;
  return candidate;
}

function tooMany(): AuthError {
  return new AuthError(
    "invalid_request",
    `An account holds at most ${PASSKEYS_PER_USER} passkeys: remove one to add another.`,
  );
}

function staleChallenge(): AuthError {
  return new AuthError(
    "invalid_passkey",
    "This passkey request has expired, was used already, or was not made here: start again.",
  );
}

function notVerified(cause?: unknown): AuthError {
  // Fixed sentences by what failed: @simplewebauthn's own text names the expected origins
  // and the stored counter, which are not the caller's to read.
  const text = cause instanceof Error ? cause.message : "";
  const reason = /challenge/i.test(text)
    ? "it answers another challenge"
    : /origin/i.test(text)
      ? "it was made on a page of another site"
      : /rp ?id/i.test(text)
        ? "it was made for another site"
        : /user (was not )?verif/i.test(text)
          ? "the authenticator did not verify the person (a PIN, a fingerprint or a face is needed)"
          : /counter/i.test(text)
            ? "its signature counter went backwards: the authenticator may have been copied"
            : /type/i.test(text)
              ? "it is not an answer of this kind"
              : "its signature or format is wrong";
  return new AuthError("invalid_passkey", `The passkey's answer could not be verified: ${reason}.`);
}
