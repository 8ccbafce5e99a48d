import type { SecurityEvent } from "./api.js";

/** What each security event means to a person; `alert` events are drawn in the danger colour. */
export const EVENT_LABELS: Record<string, [string, "ok" | "info" | "alert"]> = {
  login: ["Signed in", "ok"],
  login_failed: ["Failed sign-in attempt", "alert"],
  logout: ["Signed out", "info"],
  logout_all: ["Signed out everywhere", "info"],
  logout_others: ["Signed out all other devices", "info"],
  session_revoked: ["A device was signed out", "info"],
  password_changed: ["Password changed", "ok"],
  password_change_failed: ["Failed password change: wrong current password", "alert"],
  refresh_reuse_detected: ["A reused refresh token was detected; that session was ended", "alert"],
  session_reuse_detected: ["A session's cookie was used from two places; that session was ended", "alert"],
  account_disabled: ["Account disabled", "alert"],
  account_enabled: ["Account enabled", "ok"],
  roles_changed: ["Roles changed", "info"],
  reauthenticated: ["Password confirmed for a sensitive action", "info"],
  reauthentication_failed: ["Failed password confirmation for a sensitive action", "alert"],
  email_verified: ["Email address confirmed", "ok"],
  email_change_requested: ["Email address change requested", "info"],
  email_changed: ["Email address changed", "ok"],
  email_change_reverted: ["Email address change undone; every session was ended", "alert"],
  password_reset_requested: ["Password reset link requested", "info"],
  password_reset: ["Password reset by email link; every session was ended", "alert"],
  totp_enabled: ["Authenticator app added: signing in now asks for a code", "ok"],
  totp_disabled: ["Authenticator app removed: the password alone signs in again", "alert"],
  recovery_codes_generated: ["Recovery codes made; any older ones stopped working", "info"],
  recovery_code_used: ["A recovery code was used", "info"],
  second_factor_failed: ["Wrong authenticator or recovery code", "alert"],
  second_factor_requested: ["Right password; code asked for", "info"],
  passkey_added: ["Passkey added: it signs in alone, or after the password", "ok"],
  passkey_removed: ["Passkey removed", "alert"],
  passkey_rejected: ["A passkey's answer was refused (a bad signature, or a copied authenticator)", "alert"],
};

/**
 * The extra an event carries, in words: how many devices "sign out all other devices"
 * ended (the view's `ended`). `null` when there is none, or none this app reads.
 *
 * @example
 * eventDetail({ type: "logout_others", ended: 2, ... }); // "2 devices"
 */
export function eventDetail(event: SecurityEvent): string | null {
  if (event.type !== "logout_others" || typeof event.ended !== "number") return null;
  return event.ended === 1 ? "1 device" : `${event.ended} devices`;
}
