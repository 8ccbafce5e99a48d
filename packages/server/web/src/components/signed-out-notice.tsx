/**
 * Why the sign-in page is shown, from the stable reason latchkey gave when it ended the
 * session (`Latchkey-Session-Ended`), or the confirmation of the person's own "sign out
 * everywhere" or account deletion: what happened, and what to do now.
 */
import type { SignedOutReason } from "../api.js";

/**
 * The message of the 401 that ends a session whose cookie was used from two places (the
 * library's `SESSION_REUSE_MESSAGE`; test/e2e/session-renewal.test.ts holds the two equal):
 * the reuse notice quotes it.
 */
export const SESSION_REUSE_MESSAGE =
  "This session was ended: its cookie was used from two places (a copy of it, or a browser that missed its renewal). Sign in again, and check your devices.";

/** A notice: its tone (`alert` for what the person did not ask for), heading, and lines. */
interface Notice {
  tone: "alert" | "info" | "ok";
  title: string;
  lines: string[];
  /** A longer explanation, in the muted colour. */
  more?: string;
}

const CHECK_DEVICES = "Once signed in, the Devices and Security pages show where each session came from.";

const NOTICES: Record<Exclude<SignedOutReason, null>, Notice> = {
  session_revoked: {
    tone: "info",
    title: "This device was signed out from another device.",
    lines: [
      "Someone signed in to your account (you, on another device, or an administrator) ended this session.",
      "Sign in again to carry on. If it was not you, change your password once signed in.",
    ],
  },
  signed_out_everywhere: {
    tone: "info",
    title: "You were signed out on every device.",
    lines: [
      "“Sign out everywhere” was used on another device: every session of your account has ended, this one with them.",
      "Sign in again to carry on. If it was not you, change your password once signed in.",
    ],
  },
  signed_out: {
    tone: "info",
    title: "This session was signed out elsewhere.",
    lines: ["Another browser window holding this same session signed it out.", "Sign in again to carry on."],
  },
  password_changed: {
    tone: "alert",
    title: "Your password was changed on another device.",
    lines: [
      "Changing the password ends every other session, this one included. Sign in with the new password.",
      "If you did not change it, your password may be known to someone else: contact the administrator.",
    ],
  },
  account_deleted: {
    tone: "alert",
    title: "This account no longer exists.",
    lines: ["It was deleted, with its to-dos and sessions. Create a new account to carry on."],
  },
  account_disabled: {
    tone: "alert",
    title: "Your account has been disabled.",
    lines: ["An administrator disabled it, which ended its sessions. Contact the administrator to have it enabled."],
  },
  session_expired: {
    tone: "info",
    title: "Your session expired.",
    lines: [
      "Sessions end after a while without use, and after a longest lifetime, so that a device left signed in does not stay open. Sign in again to carry on.",
    ],
  },
  session_reuse_detected: {
    tone: "alert",
    title: "You were signed out to protect your account.",
    lines: [SESSION_REUSE_MESSAGE],
    more: `Your session's cookie changes as you use it. An old copy of it came back after a change, and the server cannot tell which browser is yours, so it ended the session for both. ${CHECK_DEVICES}`,
  },
  refresh_reuse_detected: {
    tone: "alert",
    title: "You were signed out to protect your account.",
    lines: [
      "An old refresh token of this session was used again, which only a copy of it can do: the server ended the session. Sign in again, and check your devices.",
    ],
    more: `Each refresh gives a new refresh token and retires the old one; an old one coming back means two holders, and the server cannot tell which is yours. ${CHECK_DEVICES}`,
  },
  session_limit_reached: {
    tone: "info",
    title: "This session ended to make room for a newer one.",
    lines: [
      "Your account has a limit on how many devices can be signed in at once; a sign-in elsewhere ended the oldest session, this one.",
      "Sign in again to carry on (another session will end in turn), or sign out devices you no longer use.",
    ],
  },
  password_reset: {
    tone: "alert",
    title: "Your password was reset.",
    lines: [
      "A reset link mailed to your address was used to choose a new password, which ended every session. Sign in with the new password.",
      "If you did not ask for the reset, someone can read your mail: contact the administrator.",
    ],
  },
  email_change_reverted: {
    tone: "alert",
    title: "A change of your email address was undone.",
    lines: [
      "The link mailed to your previous address undid the change and ended every session. A link to choose a new password went to that address.",
    ],
  },
  you_signed_out_everywhere: {
    tone: "ok",
    title: "You signed out of every device.",
    lines: ["Every session of your account has ended, this one included."],
  },
  you_deleted_account: {
    tone: "ok",
    title: "Your account was deleted.",
    lines: ["Your account, its to-dos and every session are gone. You can create a new account at any time."],
  },
};

/**
 * The notice for `reason`, or nothing. An alert (announced at once) for an ending the person
 * did not ask for, a status for the confirmation of their own action.
 */
export function SignedOutNotice(props: { reason: SignedOutReason }) {
  if (!props.reason) return null;
  const notice = NOTICES[props.reason];
  return (
    <div
      class={`signed-out-notice alert tone-${notice.tone}`}
      role={notice.tone === "ok" ? "status" : "alert"}
      data-reason={props.reason}
    >
      <p>
        <strong>{notice.title}</strong>
      </p>
      {notice.lines.map((line) => (
        <p key={line}>{line}</p>
      ))}
      {notice.more ? <p class="muted">{notice.more}</p> : null}
    </div>
  );
}

let expected: SignedOutReason = null;

/**
 * Names the sign-out this tab is about to ask for, so the sign-in page confirms it (an
 * account deletion ends the session with a plain sign-out).
 *
 * @example
 * expectSignOut("you_deleted_account");
 * await latchkey.signOut();
 */
export function expectSignOut(reason: SignedOutReason): void {
  expected = reason;
}

/** The sign-out this tab asked for with `expectSignOut`, once; `null` when none. */
export function takeExpectedSignOut(): SignedOutReason {
  const reason = expected;
  expected = null;
  return reason;
}
