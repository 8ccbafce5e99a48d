/**
 * Recent sign-in ("step-up", `docs/accounts.md`): the actions that can take an account
 * away from its owner, or users away from an administrator, need the person to have
 * proved who they are lately, not only to hold a session. A stolen cookie or token left
 * open on a shared computer then cannot change the password, the address or anyone's
 * roles: the thief would need the password too.
 */
import type { Clock } from "./clock.js";
import { AuthError } from "./errors.js";
import type { SessionRecord } from "./records.js";

/**
 * How long after a sign-in (or a re-authentication) sensitive actions are allowed, in
 * seconds, when `createAuth` is not told (`reauthWindow`, `REAUTH_WINDOW`).
 * @example
 * const reauthWindow = DEFAULT_REAUTH_WINDOW / 2; // 5 minutes, for createAuth({ ..., reauthWindow })
 */
export const DEFAULT_REAUTH_WINDOW = 600;

/** The longest window `createAuth` takes: a day. */
const MAX_REAUTH_WINDOW = 86_400;

/**
 * The one message of `reauthentication_required`.
 * @example
 * const refused = new AuthError("reauthentication_required", REAUTHENTICATION_REQUIRED_MESSAGE);
 */
export const REAUTHENTICATION_REQUIRED_MESSAGE = "This needs a recent sign-in: confirm your password.";

/**
 * What a session must show for a sensitive action, and the check.
 * @example
 * await auth.recentSignIn.require(session, { password: false }); // 403 reauthentication_required when stale
 * console.log(`sensitive actions stay open ${auth.recentSignIn.window} s after a sign-in`);
 */
export class RecentSignIn {
  /** The window, in seconds (`reauthWindow`). */
  readonly window: number;
  readonly #clock: Clock;
  readonly #hasSecondFactor: (userId: string) => Promise<boolean>;

  constructor(deps: { clock: Clock; window: number; hasSecondFactor?: (userId: string) => Promise<boolean> }) {
    this.#clock = deps.clock;
    this.window = deps.window;
    this.#hasSecondFactor = deps.hasSecondFactor ?? (async () => false);
  }

  /**
   * Whether the person proved who they are in this session within the window.
   * @example
   * const fresh: boolean = auth.recentSignIn.isRecent(session);
   */
  isRecent(session: Pick<SessionRecord, "authTime">): boolean {
    return this.#clock.now() - session.authTime <= this.window * 1000;
  }

  /**
   * Passes when the session's sign-in is recent, or when the request itself carries the
   * account's password (`password: true`: the caller checks it before it changes
   * anything, as the password change, the email change and the account deletion do) and
   * the account has no second factor, so the password is all a full sign-in would ask.
   * For an account with a second factor, only a recent sign-in that passed it (`amr`
   * holds `mfa`) passes: a session opened with the password before the factor was added
   * does not.
   * Otherwise throws `403 reauthentication_required`: the client re-authenticates
   * (`POST /auth/reauthenticate`) and tries again.
   * @example
   * await auth.recentSignIn.require(session, { password: true }); // before checking the body's password
   */
  async require(
    session: Pick<SessionRecord, "authTime" | "userId" | "amr">,
    options: { password: boolean },
  ): Promise<void> {
    const recent = this.isRecent(session);
    // Cheap first: a recent sign-in that passed a second factor is a full one, whatever the account has.
    if (recent && session.amr.includes("mfa")) return;
    const hasFactor = await this.hasSecondFactor(session.userId);
    // With a second factor, only a sign-in that passed it counts: a session opened with the
    // password alone (before the factor was added) must not remove it or change the password.
    if (!hasFactor && (recent || options.password)) return;
    throw new AuthError("reauthentication_required", REAUTHENTICATION_REQUIRED_MESSAGE);
  }

  /**
   * Whether the account has a second factor (an authenticator app, a passkey), so that
   * its password alone is not a full sign-in.
   * @example
   * if (await auth.recentSignIn.hasSecondFactor(userId)) console.log("a password is not enough");
   */
  hasSecondFactor(userId: string): Promise<boolean> {
    return this.#hasSecondFactor(userId);
  }
}

/**
 * `reauthWindow` checked as the server checks `REAUTH_WINDOW`: a whole number of
 * seconds from 1 to 86400; the default when not given.
 * @example
 * const window = checkReauthWindow(undefined); // 600
 */
export function checkReauthWindow(window: number | undefined): number {
  if (window === undefined) return DEFAULT_REAUTH_WINDOW;
  if (!Number.isInteger(window) || window < 1 || window > MAX_REAUTH_WINDOW) {
    throw new TypeError(
      `latchkey: option reauthWindow must be a whole number of seconds from 1 to ${MAX_REAUTH_WINDOW}, got ${String(window).slice(0, 40)}`,
    );
  }
  return window;
}
