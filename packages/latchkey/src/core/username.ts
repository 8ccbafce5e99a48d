/**
 * Usernames: 3 to 32 characters of `a-z 0-9 . _ -` after Unicode NFKC normalisation and
 * lower-casing. The normalised form is the identity: `Alice` and `ａｌｉｃｅ` are `alice`.
 */

const USERNAME_PATTERN = /^[a-z0-9._-]{3,32}$/;

/**
 * The canonical form of a username as typed: NFKC, then lower case.
 *
 * @example
 * normalizeUsername("ＡＬＩＣＥ"); // "alice"
 */
export function normalizeUsername(input: string): string {
  return input.normalize("NFKC").toLowerCase();
}

/**
 * The canonical username, or `null` when the input cannot be one.
 *
 * @example
 * parseUsername("Bob.Smith"); // "bob.smith"
 * parseUsername("no spaces"); // null
 */
export function parseUsername(input: string): string | null {
  // Guard before normalising so a huge input costs nothing.
  if (input.length > 256) return null;
  const name = normalizeUsername(input);
  return USERNAME_PATTERN.test(name) ? name : null;
}

/** Why a username is refused, for the error message. */
export const USERNAME_RULE = "A username is 3 to 32 characters of letters a-z, digits, '.', '_' or '-'.";
