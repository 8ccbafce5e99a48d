/**
 * The password policy of the contract (section 2), after NIST SP 800-63B and ASVS 6.2:
 * 8 to 1024 characters of anything, no composition rules, never truncated or case-folded;
 * refused when it is one of the 10,000 most common passwords or contains the username.
 *
 * The common-password list is the frequency-ordered `passwords-common` dictionary of
 * `@zxcvbn-ts/language-common` (the list zxcvbn-ts checks against, compiled from public
 * breach corpora). Passwords shorter than 8 characters are already refused by length, so
 * the 10,000 kept are the most common ones of 8 characters or more.
 */
import { dictionary } from "@zxcvbn-ts/language-common";
import { AuthError } from "./errors.js";

/** Inclusive bounds, in Unicode code points. */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 1024;
/** How many of the most common passwords are refused. */
export const COMMON_PASSWORD_COUNT = 10_000;

let common: ReadonlySet<string> | undefined;

function commonPasswords(): ReadonlySet<string> {
  if (!common) {
    const ranked = dictionary["passwords-common"] as readonly string[];
    const kept: string[] = [];
    for (const candidate of ranked) {
      if ([...candidate].length >= PASSWORD_MIN_LENGTH) kept.push(candidate.toLowerCase());
      if (kept.length === COMMON_PASSWORD_COUNT) break;
    }
    common = new Set(kept);
  }
  return common;
}

/**
 * The form a password is hashed and checked in: Unicode NFKC (NIST SP 800-63B 5.1.1.2),
 * so "é" typed as one code point or as "e" and a combining accent is one password. NFKC
 * folds compatibility forms (full-width letters, ligatures), never case.
 *
 * @example
 * normalizePassword("cafe\u0301 au lait") === normalizePassword("caf\u00e9 au lait"); // true
 */
export function normalizePassword(password: string): string {
  return password.normalize("NFKC");
}

/**
 * Refuses a password that is not text: ill-formed UTF-16, a lone surrogate. JSON can carry
 * one (`"\ud800"`), but it has no UTF-8 form: argon2 would be given U+FFFD in its place,
 * and every lone surrogate would be one password. `Accounts` passes every password it takes
 * through here first, before anything is counted or hashed; `field` names it for people,
 * and the message never carries the password.
 *
 * @example
 * assertWellFormedPassword("correct horse \u{1F511}"); // fine
 * assertWellFormedPassword("correct horse \ud800", "new password"); // throws invalid_request
 */
export function assertWellFormedPassword(password: string, field = "password"): void {
  if (!password.isWellFormed()) {
    throw new AuthError(
      "invalid_request",
      `The ${field} is not well-formed Unicode: it contains an unpaired surrogate (a lone \\uD800-\\uDFFF escape).`,
    );
  }
}

/**
 * Why a password is refused.
 * @example
 * const problem: PasswordProblem | null = checkPassword("password1", "alice"); // "common"
 */
export type PasswordProblem = "too_short" | "too_long" | "common" | "contains_username";

/**
 * The first problem with a new password, or `null` when it may be used.
 *
 * @example
 * checkPassword("password1234", "alice"); // "common"
 * checkPassword("correct horse battery staple", "alice"); // null
 */
export function checkPassword(password: string, username: string): PasswordProblem | null {
  // Bound the work before counting code points.
  if (password.length > PASSWORD_MAX_LENGTH * 2) return "too_long";
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) return "too_short";
  if (length > PASSWORD_MAX_LENGTH) return "too_long";
  const folded = password.normalize("NFKC").toLowerCase();
  if (commonPasswords().has(folded)) return "common";
  if (username.length > 0 && folded.includes(username)) return "contains_username";
  return null;
}

/** A sentence for each problem, for people. */
export const PASSWORD_PROBLEM_MESSAGES: Readonly<Record<PasswordProblem, string>> = {
  too_short: `The password must be at least ${PASSWORD_MIN_LENGTH} characters long.`,
  too_long: `The password must be at most ${PASSWORD_MAX_LENGTH} characters long.`,
  common: "This password is among the most commonly used passwords. Choose another.",
  contains_username: "The password must not contain the username.",
};
