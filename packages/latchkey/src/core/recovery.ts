/**
 * An account a person can recover (`docs/accounts.md`): an email address proved by a
 * mailed link, a forgotten password reset from one, and an email change that the old
 * address can undo.
 *
 * Every link is a single-use `id.secret` token of its own purpose, the secret stored only
 * as its SHA-256 (`LinkTokenStore`). The routes that mail something answer before any
 * mail work is done and the same whoever the address belongs to, so neither their answer
 * nor its timing says whether an account has the address; they are limited per client
 * address and per target address (or account) by counters every instance shares.
 */
import type { SignedInCaller } from "./accounts.js";
import type { Clock } from "./clock.js";
import { EMAIL_RULE, parseEmail } from "./email.js";
import { AuthError, RateLimitedError } from "./errors.js";
import { limitPerAddress } from "./login-throttle.js";
import {
  DEFAULT_MAIL_TEMPLATES,
  type MailContext,
  Mailer,
  type MailKind,
  type MailOptions,
  type MailTemplates,
} from "./mail.js";
import type { CounterStore, LinkTokenStore, UserStore } from "./ports.js";
import type { LinkPurpose, LinkTokenRecord, UserRecord } from "./records.js";
import { hashSecret, hmac, type RandomBytes, safeEqual } from "./secrets.js";
import type { SecurityLog } from "./security-log.js";
import type { ClientInfo, SessionManager } from "./session-manager.js";
import { formatSessionToken, newSessionToken, parseSessionToken } from "./session-token.js";

/**
 * The email settings of `createAuth`; durations in seconds.
 * @example
 * const email: Partial<EmailPolicy> = { requireVerified: true, resetTtl: 900 };
 */
export interface EmailPolicy {
  /** Logins of an account whose address is not yet verified answer `403 email_unverified`. */
  requireVerified: boolean;
  /** How long a verification link works. */
  verifyTtl: number;
  /** How long a password-reset link works. */
  resetTtl: number;
  /** How long the old address's "this was not me" link works after an email change. */
  revertTtl: number;
  /** Mail-sending requests per client address (per /64) within the login window. */
  mailPerAddress: number;
  /** Mail-sending requests per target address or account within the login window. */
  mailPerAccount: number;
}

/**
 * The defaults: links for a day, 30 minutes and a week; 20 and 5 mails per window.
 * @example
 * const email: EmailPolicy = { ...DEFAULT_EMAIL_POLICY, requireVerified: true };
 */
export const DEFAULT_EMAIL_POLICY: Readonly<EmailPolicy> = {
  requireVerified: false,
  verifyTtl: 86_400,
  resetTtl: 1800,
  revertTtl: 604_800,
  mailPerAddress: 20,
  mailPerAccount: 5,
};

/** Link uses (verify, revert, reset) per client address within the window: generous, yet bounded. */
const LINK_USES_PER_ADDRESS = 60;

/**
 * What `GET /auth/email` shows.
 * @example
 * const { email, verified, pending } = await auth.email.status(userId);
 */
export interface EmailStatus {
  email: string | null;
  verified: boolean;
  /** A new address waiting for its link to be opened. */
  pending: string | null;
  /** Whether logins need a verified address here. */
  required: boolean;
}

/** The password work `AccountEmail` borrows from `Accounts` (throttled, hashed like every password). */
export interface PasswordWork {
  /** The user, once their password is checked (throttled per session, as a password change). */
  confirm(userId: string, password: string, caller: SignedInCaller): Promise<UserRecord>;
  /** A new password checked against the rules and hashed; throws `weak_password`. */
  hash(user: UserRecord, password: string, ip: string): Promise<string>;
}

/** Dependencies of `AccountEmail`. */
export interface AccountEmailDeps {
  users: UserStore;
  links: LinkTokenStore;
  counters: CounterStore;
  sessions: SessionManager;
  log: SecurityLog;
  clock: Clock;
  passwords: PasswordWork;
  /** Resets the login throttle of an account: a reset password is a fresh start. */
  unlockLogin(user: UserRecord): Promise<void>;
  /** The origin the default links point at. */
  origin: () => string;
  /** `undefined`: no mail set up; the email routes are off and registration takes no address. */
  mail: MailOptions | undefined;
  policy: EmailPolicy;
  /** The throttle window, seconds. */
  windowSeconds: number;
  /** The secret the mail counters' keys are keyed with (an HMAC key, shared by every instance). */
  throttleKey: string;
  random?: RandomBytes;
}

/**
 * @example
 * await auth.email.forgotPassword("alice@example.com", { ip, userAgent: "curl/8.5" }); // answers at once, either way
 * await auth.email.resetPassword(token, "a new passphrase", { ip, userAgent: "curl/8.5" });
 */
export class AccountEmail {
  /** Whether mail is set up (`createAuth({ mail })`). */
  readonly enabled: boolean;
  readonly requireVerified: boolean;
  /** How long a verification link works, seconds. */
  readonly verifyTtl: number;
  /** How long a password-reset link works, seconds. */
  readonly resetTtl: number;
  readonly #deps: AccountEmailDeps;
  readonly #mailer: Mailer | undefined;
  readonly #templates: MailTemplates;
  readonly #background = new Set<Promise<void>>();

  constructor(deps: AccountEmailDeps) {
    this.#deps = deps;
    this.enabled = deps.mail !== undefined;
    this.requireVerified = deps.policy.requireVerified;
    this.verifyTtl = deps.policy.verifyTtl;
    this.resetTtl = deps.policy.resetTtl;
    this.#mailer = deps.mail && new Mailer(deps.mail);
    this.#templates = { ...DEFAULT_MAIL_TEMPLATES, ...deps.mail?.templates };
  }

  /**
   * The address of a registration, normalised, or `null` for none; throws
   * `invalid_request` for a malformed one, for one where no mail is set up, and for none
   * where a verified address is required (unless an operator creates the account).
   */
  addressForRegistration(input: string | undefined, byOperator = false): string | null {
    if (input === undefined || input === "") {
      // An operator's account (the CLI) may have none: the operator vouches for it.
      if (this.enabled && this.requireVerified && !byOperator) {
        throw new AuthError("invalid_request", "An email address is required: enter one to confirm.");
      }
      return null;
    }
    if (!this.enabled) {
      throw new AuthError("invalid_request", "This server sends no mail, so it takes no email address.");
    }
    return requireEmail(input);
  }

  /** Mails a new account's address its verification link (off the request path). */
  registered(user: UserRecord): void {
    const { email } = user;
    if (email === null || !this.enabled) return;
    this.#later(() => this.#mailLink(user, "verify_email", email));
  }

  /** Whether an account may sign in as far as its address goes: throws `email_unverified`. */
  assertMaySignIn(user: UserRecord): void {
    if (this.enabled && this.requireVerified && user.email !== null && user.emailVerifiedAt === null) {
      throw new AuthError(
        "email_unverified",
        "Confirm your email address first: open the link we mailed you, or ask for a new one.",
      );
    }
  }

  /** The signed-in user's address, its status, and a change waiting for its link. */
  async status(userId: string): Promise<EmailStatus> {
    const user = await this.#deps.users.findById(userId);
    if (!user) throw new AuthError("unauthenticated", "Sign in to continue.");
    const pending = await this.#deps.links.findPending(userId, "verify_email", this.#deps.clock.now());
    return {
      email: user.email,
      verified: user.email !== null && user.emailVerifiedAt !== null,
      pending: pending && pending.email !== user.email ? pending.email : null,
      required: this.enabled && this.requireVerified,
    };
  }

  /**
   * Asks to change the address, once the password is checked: the new address gets a
   * link that makes the change, and the old one, when verified, a notice with a link that
   * undoes it. Until the new link is used, the account keeps its address.
   */
  async change(userId: string, input: string, password: string, caller: SignedInCaller): Promise<{ pending: string }> {
    this.#assertEnabled();
    const email = requireEmail(input);
    const user = await this.#deps.passwords.confirm(userId, password, caller);
    if (email === user.email && user.emailVerifiedAt !== null) {
      throw new AuthError("invalid_request", "That is already your address.");
    }
    await this.#limitMail(caller.ip, `user:${user.id}`);
    // The new address's inbox is somebody's too: its own limit, whichever accounts ask.
    await this.#limitTarget(`email:${email}`);
    const owner = await this.#deps.users.findByEmail(email);
    // An address another account holds unverified is no proof of anything: proving it here
    // takes it (`#claim`). One it proved is taken.
    if (owner && owner.id !== user.id && owner.emailVerifiedAt !== null) throw emailTaken();
    // One change waits at a time: a newer request's link replaces the older ones.
    await this.#deps.links.deleteByUser(user.id, "verify_email");
    await this.#deps.log.record("email_change_requested", user.id, {
      ip: caller.ip,
      userAgent: caller.userAgent,
      sessionId: caller.sessionId,
    });
    // The link exists before the answer (`GET /auth/email` shows it pending at once); the mails go after.
    const confirm = await this.#message(user, "verify_email", email);
    this.#mailer?.send(confirm);
    // Only a proved address hears of it: an unverified one may be a stranger's.
    if (user.email !== null && user.emailVerifiedAt !== null && user.email !== email) {
      const old = user.email;
      this.#later(() => this.#mailLink(user, "revert_email", old, { newEmail: email }));
    }
    return { pending: email };
  }

  /**
   * Mails a new verification link to an account that has `input` unverified; answers the
   * same (nothing) whether or not one has.
   */
  async resendVerification(input: string, client: ClientInfo): Promise<void> {
    this.#assertEnabled();
    const email = requireEmail(input);
    await this.#limitMail(client.ip, `email:${email}`);
    this.#later(async () => {
      const user = await this.#deps.users.findByEmail(email);
      if (!user || user.emailVerifiedAt !== null || user.disabledAt !== null) return;
      // Older links for this address keep working (they prove the same thing); a change
      // waiting for another address's link is the account's, not a stranger's to cancel.
      await this.#mailLink(user, "verify_email", email);
    });
  }

  /**
   * Uses a verification link: its address is now the account's, verified (after a change,
   * the old address is replaced). Throws `link_*`, or `email_taken` when another account
   * took the address meanwhile.
   */
  async verify(token: string, client: ClientInfo): Promise<{ email: string }> {
    this.#assertEnabled();
    await this.#limitLinks(client);
    const { link, user } = await this.#redeem(token, "verify_email");
    assertEnabledAccount(user);
    await this.#spend(link);
    const now = this.#deps.clock.now();
    const changed = user.email !== link.email;
    if (!changed && user.emailVerifiedAt !== null) return { email: link.email };
    const result = await this.#claim(user.id, link.email, now);
    if (result === "email_taken") throw emailTaken();
    if (result === false) throw linkOfNobody();
    // Any other link waiting (an older change's) is void now; this one stays, as used.
    await this.#deps.links.deleteByUser(user.id, "verify_email", { id: link.id });
    // Reset links went to the old address: they are no longer the account's way back.
    if (changed) await this.#deps.links.deleteByUser(user.id, "reset_password");
    await this.#deps.log.record(changed ? "email_changed" : "email_verified", user.id, client);
    return { email: link.email };
  }

  /**
   * Uses the old address's link after an email change: the change is undone (or the
   * waiting one cancelled), every session of the account ends, and the old address gets a
   * password-reset link, since whoever changed it knew the password.
   */
  async revert(token: string, client: ClientInfo): Promise<{ email: string | null }> {
    this.#assertEnabled();
    await this.#limitLinks(client);
    const { link, user } = await this.#redeem(token, "revert_email");
    assertEnabledAccount(user);
    await this.#spend(link);
    const now = this.#deps.clock.now();
    await this.#deps.links.deleteByUser(user.id, "verify_email");
    await this.#deps.links.deleteByUser(user.id, "reset_password");
    let email: string | null = link.email;
    if (user.email !== link.email) {
      // The old address comes back, taken from an account that holds it unproved (a squat
      // after the change). If another account has proved it since, the account keeps no
      // address: never the one the change put there, which is the intruder's way back.
      const restored = await this.#claim(user.id, link.email, now);
      if (restored !== true) {
        await this.#deps.users.setEmail(user.id, null, null);
        email = null;
      }
    }
    await this.#deps.sessions.endAllForUser(user.id, undefined, "email_change_reverted");
    await this.#deps.log.record("email_change_reverted", user.id, client);
    // The link to choose a new password goes to the address that proved it is the owner's.
    const owner = { ...user, email };
    this.#later(() => this.#mailLink(owner, "reset_password", link.email));
    return { email };
  }

  /**
   * `POST /auth/password/forgot`: checks the address's form and the limits, then answers;
   * the lookup and the mail happen after, so an unknown address costs the same.
   */
  async forgotPassword(input: string, client: ClientInfo): Promise<void> {
    this.#assertEnabled();
    const email = requireEmail(input);
    await this.#limitMail(client.ip, `email:${email}`);
    this.#later(async () => {
      const user = await this.#deps.users.findByEmail(email);
      // A disabled account gets no link: its reset would be refused anyway.
      if (!user || user.disabledAt !== null) return;
      await this.#deps.links.deleteByUser(user.id, "reset_password");
      await this.#deps.log.record("password_reset_requested", user.id, client);
      await this.#mailLink(user, "reset_password", email);
    });
  }

  /**
   * Sets a new password from a reset link. The link is spent only once the new password
   * passes the rules (a weak one can be fixed with the same link); then every session and
   * refresh token of the account ends, on every instance, and its login throttle resets.
   */
  async resetPassword(token: string, newPassword: string, client: ClientInfo): Promise<void> {
    this.#assertEnabled();
    await this.#limitLinks(client);
    const { link, user } = await this.#redeem(token, "reset_password");
    assertEnabledAccount(user);
    const hash = await this.#deps.passwords.hash(user, newPassword, client.ip);
    await this.#spend(link);
    await this.#deps.users.updatePasswordHash(user.id, hash);
    // Another reset link (two asked at once) must not work after this one: only this one stays, as used.
    await this.#deps.links.deleteByUser(user.id, "reset_password", { id: link.id });
    // A change of address waiting for its link was asked for with the old password: void
    // (a verification link of the account's own address proves no less than it did).
    await this.#deps.links.deleteByUser(user.id, "verify_email", { email: user.email });
    // The link reached the account's address: that proves it.
    if (user.email === link.email && user.emailVerifiedAt === null) {
      await this.#deps.users.setEmail(user.id, link.email, this.#deps.clock.now());
    }
    await this.#deps.sessions.endAllForUser(user.id, undefined, "password_reset");
    await this.#deps.unlockLogin(user);
    await this.#deps.log.record("password_reset", user.id, client);
  }

  /**
   * After a password change: a change of address waiting for its link was asked for with
   * the old password (by whoever knew it), so its link no longer works.
   */
  async passwordChanged(user: UserRecord): Promise<void> {
    if (this.enabled) await this.#deps.links.deleteByUser(user.id, "verify_email", { email: user.email });
  }

  /**
   * Mails a reset link to a user's address now and waits for the transport (the CLI):
   * returns the address; throws when there is no such user, no address, or the send fails.
   */
  async sendResetLink(user: UserRecord): Promise<string> {
    this.#assertEnabled();
    if (user.email === null) {
      throw new AuthError("invalid_request", `${user.username} has no email address to send a link to.`);
    }
    if (user.disabledAt !== null) throw new AuthError("account_disabled", `${user.username} is disabled.`);
    await this.#deps.links.deleteByUser(user.id, "reset_password");
    const message = await this.#message(user, "reset_password", user.email);
    await this.#mailer?.sendNow(message);
    return user.email;
  }

  /** Resolves when no mail work is left: queued, being sent, or waiting to look an address up. */
  async idle(): Promise<void> {
    while (this.#background.size > 0) await Promise.allSettled([...this.#background]);
    await this.#mailer?.idle();
  }

  /** Finishes the work in progress and drops the retries still waiting. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.#background]);
    await this.#mailer?.close();
  }

  #assertEnabled(): void {
    if (!this.enabled) throw new AuthError("not_found", "This server sends no mail.");
  }

  /** Work after the answer: its failure (a store down) is logged, never thrown at anyone. */
  #later(work: () => Promise<void>): void {
    const run = new Promise<void>((resolve) => setImmediate(resolve)).then(work).catch((error: unknown) => {
      this.#deps.mail?.log?.error(
        { error: error instanceof Error ? error.message : String(error) },
        "mail work failed",
      );
    });
    const tracked = run.finally(() => this.#background.delete(tracked));
    this.#background.add(tracked);
  }

  async #mailLink(user: UserRecord, purpose: LinkPurpose, to: string, extra: Partial<MailContext> = {}): Promise<void> {
    this.#mailer?.send(await this.#message(user, purpose, to, extra));
  }

  /** Issues a link token of `purpose` for `to` and writes its message. */
  async #message(user: UserRecord, purpose: LinkPurpose, to: string, extra: Partial<MailContext> = {}) {
    const { mail, clock, policy, links } = this.#deps;
    if (!mail) throw new Error("latchkey: no mail set up");
    const ttl = { verify_email: policy.verifyTtl, reset_password: policy.resetTtl, revert_email: policy.revertTtl }[
      purpose
    ];
    const parts = newSessionToken(this.#deps.random);
    const now = clock.now();
    await links.create({
      id: parts.id,
      userId: user.id,
      purpose,
      secretHash: hashSecret(parts.secret),
      email: to,
      createdAt: now,
      expiresAt: now + ttl * 1000,
      usedAt: null,
    });
    const token = formatSessionToken(parts);
    const link = mail.links?.[purpose]?.(token) ?? `${this.#deps.origin()}${DEFAULT_PAGES[purpose]}#token=${token}`;
    const kind: MailKind = purpose === "revert_email" ? "email_change_notice" : purpose;
    const words = this.#templates[kind]({
      username: user.username,
      email: to,
      link,
      expiresInMinutes: Math.round(ttl / 60),
      ...extra,
    });
    return { kind, to, from: mail.from, ...words };
  }

  /**
   * The link a token names, with its user, when the token is one of `purpose` that is
   * unused and unexpired: `link_invalid` (malformed, unknown, forged, another purpose, its
   * user gone), `link_used`, `link_expired`. It is not spent: `#spend` does that.
   */
  async #redeem(token: string, purpose: LinkPurpose): Promise<{ link: LinkTokenRecord; user: UserRecord }> {
    const parts = typeof token === "string" ? parseSessionToken(token.trim()) : null;
    const link = parts ? await this.#deps.links.find(parts.id) : null;
    if (!parts || !link || link.purpose !== purpose || !safeEqual(hashSecret(parts.secret), link.secretHash)) {
      throw new AuthError(
        "link_invalid",
        "This link is not valid. Copy the whole link from the mail, or ask for a new one.",
      );
    }
    if (link.usedAt !== null) throw linkUsed();
    if (link.expiresAt <= this.#deps.clock.now()) {
      throw new AuthError("link_expired", "This link has expired. Ask for a new one.");
    }
    const user = await this.#deps.users.findById(link.userId);
    if (!user) throw new AuthError("link_invalid", "This link is not valid: its account no longer exists.");
    return { link, user };
  }

  async #spend(link: LinkTokenRecord): Promise<void> {
    if (!(await this.#deps.links.use(link.id, this.#deps.clock.now()))) throw linkUsed();
  }

  /**
   * Sets a proved address on `userId`. An account that holds it unproved gives it up (its
   * address becomes none): a claim nobody proved never keeps the address from its owner.
   * `"email_taken"` when another account proved it; `false` when the user is gone.
   */
  async #claim(userId: string, email: string, now: number): Promise<boolean | "email_taken"> {
    const { users } = this.#deps;
    const first = await users.setEmail(userId, email, now);
    if (first !== "email_taken") return first;
    const holder = await users.findByEmail(email);
    // Gone between the two reads: the address is free, try once more.
    if (!holder) return users.setEmail(userId, email, now);
    if (holder.id === userId || holder.emailVerifiedAt !== null) return "email_taken";
    await users.setEmail(holder.id, null, null);
    return users.setEmail(userId, email, now);
  }

  /** Mail-sending requests: per client address and per target. */
  async #limitMail(ip: string, target: string): Promise<void> {
    const { counters, clock, policy, windowSeconds } = this.#deps;
    await limitPerAddress(counters, clock, { name: "mail", ip, max: policy.mailPerAddress, windowSeconds });
    await this.#limitTarget(target);
  }

  /**
   * `mailPerAccount` per target (an address, an account) and window. The key is an HMAC
   * under a server secret, not the address: a counter store holds no address, and a
   * dictionary of addresses does not reverse its keys.
   */
  async #limitTarget(target: string): Promise<void> {
    const { counters, clock, policy, windowSeconds } = this.#deps;
    const now = clock.now();
    const key = `mail:target:${hmac(this.#deps.throttleKey, target).slice(0, 22)}`;
    const hit = await counters.hit(key, windowSeconds * 1000, now);
    if (hit.count > policy.mailPerAccount) throw new RateLimitedError((hit.resetAt - now) / 1000);
  }

  async #limitLinks(client: ClientInfo): Promise<void> {
    const { counters, clock, windowSeconds } = this.#deps;
    await limitPerAddress(counters, clock, { name: "link", ip: client.ip, max: LINK_USES_PER_ADDRESS, windowSeconds });
  }
}

/** The pages the default links open (the web app's). */
const DEFAULT_PAGES: Readonly<Record<LinkPurpose, string>> = {
  verify_email: "/verify-email",
  reset_password: "/reset-password",
  revert_email: "/revert-email",
};

function requireEmail(input: string): string {
  const email = parseEmail(input);
  if (email === null) throw new AuthError("invalid_request", EMAIL_RULE);
  return email;
}

function emailTaken(): AuthError {
  return new AuthError("email_taken", "That email address belongs to another account.");
}

function linkOfNobody(): AuthError {
  return new AuthError("link_invalid", "This link is not valid: its account no longer exists.");
}

/** A disabled account's links wait: they work again once it is enabled. */
function assertEnabledAccount(user: UserRecord): void {
  if (user.disabledAt !== null) throw new AuthError("account_disabled", "This account has been disabled.");
}

function linkUsed(): AuthError {
  return new AuthError("link_used", "This link has been used already. Ask for a new one if you need it.");
}
