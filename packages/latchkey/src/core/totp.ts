/**
 * TOTP (RFC 6238) on latchkey's clock: HOTP (RFC 4226, from `@oslojs/otp`) of the time
 * step, 30-second steps and 6 digits, as every authenticator app defaults to. A code is
 * accepted for the step before and after the current one (RFC 6238 section 5.2: clocks
 * drift, and a code typed at a step's end arrives in the next); which step matched is
 * returned, so the caller refuses any code of that step or an earlier one again.
 */
import { decodeBase32IgnorePadding, encodeBase32UpperCaseNoPadding } from "@oslojs/encoding";
import { createTOTPKeyURI, generateHOTP } from "@oslojs/otp";
import { renderSVG } from "uqr";
import { safeEqual } from "./secrets.js";

/** Seconds per step. */
export const TOTP_PERIOD = 30;
/** Digits per code. */
export const TOTP_DIGITS = 6;
/** Steps accepted on either side of the current one. */
export const TOTP_SKEW = 1;
/** Bytes of a new shared secret: 160 bits, RFC 4226's recommended length. */
export const TOTP_SECRET_BYTES = 20;

/**
 * The time step of `nowMs`.
 * @example
 * const step = totpStep(Date.now());
 */
export function totpStep(nowMs: number): number {
  return Math.floor(nowMs / 1000 / TOTP_PERIOD);
}

/**
 * The code of `step` for `key`.
 * @example
 * const code = totpCode(key, totpStep(Date.now())); // "492039"
 */
export function totpCode(key: Uint8Array, step: number): string {
  return generateHOTP(key, BigInt(step), TOTP_DIGITS);
}

/**
 * The step `code` belongs to, within `TOTP_SKEW` steps of `nowMs`, or `null`. Every
 * candidate is compared, in constant time, whichever matches.
 * @example
 * const step = matchTotp(key, "492039", Date.now()); // a number, or null
 */
export function matchTotp(key: Uint8Array, code: string, nowMs: number): number | null {
  const current = totpStep(nowMs);
  let matched: number | null = null;
  for (let step = current - TOTP_SKEW; step <= current + TOTP_SKEW; step++) {
    if (safeEqual(totpCode(key, step), code) && matched === null) matched = step;
  }
  return matched;
}

/**
 * A typed code as the app shows it: digits, perhaps grouped by a space; anything else is
 * no code (`null`).
 * @example
 * normalizeTotpCode("492 039"); // "492039"
 */
export function normalizeTotpCode(input: string): string | null {
  const digits = input.replace(/[\s-]/g, "");
  return new RegExp(`^\\d{${TOTP_DIGITS}}$`).test(digits) ? digits : null;
}

/**
 * What an authenticator app is shown at enrolment: the secret in base32 (to type), the
 * `otpauth://` URI (RFC 6238 apps' key URI format) and that URI as a QR code, an SVG.
 * @example
 * const { secret, uri, qrSvg } = totpEnrolment(key, "latchkey", "alice");
 */
export function totpEnrolment(
  key: Uint8Array,
  issuer: string,
  accountName: string,
): { secret: string; uri: string; qrSvg: string } {
  const uri = createTOTPKeyURI(issuer, accountName, key, TOTP_PERIOD, TOTP_DIGITS);
  return {
    secret: encodeBase32UpperCaseNoPadding(key),
    uri,
    qrSvg: renderSVG(uri, { ecc: "M", border: 2 }),
  };
}

/**
 * The key a base32 secret stands for.
 * @example
 * const key = totpKey("JBSWY3DPEHPK3PXP");
 */
export function totpKey(secret: string): Uint8Array {
  return decodeBase32IgnorePadding(secret.toUpperCase());
}
