/** What each security event means to a person; `alert` events are drawn in the danger colour. */
export const EVENT_LABELS: Record<string, [string, "ok" | "info" | "alert"]> = {
  login: ["Signed in", "ok"],
  login_failed: ["Failed sign-in attempt", "alert"],
  logout: ["Signed out", "info"],
  logout_all: ["Signed out everywhere", "info"],
  session_revoked: ["A device was signed out", "info"],
  password_changed: ["Password changed", "ok"],
  refresh_reuse_detected: ["A reused refresh token was detected; that session was ended", "alert"],
  session_reuse_detected: ["A session's cookie was used from two places; that session was ended", "alert"],
  account_disabled: ["Account disabled", "alert"],
  account_enabled: ["Account enabled", "ok"],
  roles_changed: ["Roles changed", "info"],
};
