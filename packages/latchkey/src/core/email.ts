/**
 * Email addresses: one normal form, so that an address has one owner however it is typed.
 *
 * The domain is case-insensitive (RFC 5321 2.4) and an internationalised one has one ASCII
 * form (`url.domainToASCII`, the WHATWG URL host parser: IDNA with UTS 46 mapping, so
 * `ＥＸＡＭＰＬＥ.com` and `example.com` are one domain). The local part is in principle
 * case-sensitive, but no mail provider in use treats `Alice` and `alice` as two people,
 * and an account system that did would let two accounts share a mailbox: it is lower-cased
 * too, after NFC. Nothing provider-specific is undone (dots and `+tags` of Gmail stay):
 * those are different addresses everywhere else.
 */
import { domainToASCII } from "node:url";

/**
 * The longest address SMTP carries (RFC 5321 4.5.3.1.3, less the angle brackets).
 * @example
 * const fits = "alice@example.com".length <= EMAIL_MAX_LENGTH; // true
 */
export const EMAIL_MAX_LENGTH = 254;

/**
 * What `parseEmail` accepts, for messages.
 * @example
 * const message = parseEmail("not an address") === null ? EMAIL_RULE : "";
 */
export const EMAIL_RULE = "Enter an email address such as name@example.com.";

// No spaces, quotes or brackets, no control characters and no invisible ones (\p{Cf}: a
// zero-width space, a right-to-left override, a soft hyphen), which would make two
// addresses that look alike, or a notice that reads otherwise than it says.
const LOCAL_PART = /^[^\s@"(),:;<>[\\\]\p{Cc}\p{Cf}\p{Zl}\p{Zp}]{1,64}$/u;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * The normal form of an address as typed, or `null` when it is not one latchkey accepts:
 * a dot-atom-like local part of 1 to 64 characters (no spaces, quotes or brackets) and a
 * domain of at least two labels.
 * @example
 * parseEmail("  Alice@Example.COM "); // "alice@example.com"
 * parseEmail("alice@localhost"); // null: a domain of one label
 */
export function parseEmail(input: string): string | null {
  if (typeof input !== "string") return null;
  const trimmed = input.trim();
  if (trimmed.length === 0 || trimmed.length > EMAIL_MAX_LENGTH * 2) return null;
  const at = trimmed.lastIndexOf("@");
  if (at < 1 || trimmed.indexOf("@") !== at) return null;
  const local = trimmed.slice(0, at).normalize("NFC").toLowerCase();
  if (!LOCAL_PART.test(local) || local.startsWith(".") || local.endsWith(".") || local.includes("..")) return null;
  const domain = domainToASCII(trimmed.slice(at + 1).replace(/\.$/, ""));
  if (domain === "" || domain.length > 253) return null;
  const labels = domain.split(".");
  if (labels.length < 2 || !labels.every((label) => LABEL.test(label))) return null;
  if (/^[0-9]+$/.test(labels.at(-1) ?? "")) return null;
  const email = `${local}@${domain}`;
  return email.length <= EMAIL_MAX_LENGTH ? email : null;
}
