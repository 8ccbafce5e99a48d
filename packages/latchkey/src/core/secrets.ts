/**
 * Random identifiers, secrets, their hashes and constant-time comparison.
 *
 * Session secrets and refresh tokens carry 256 random bits, so a single SHA-256 is
 * enough to store them: there is nothing to brute-force, unlike a password, and the
 * hash keeps a leaked database from being a list of live credentials.
 */
import { createHmac, hash, randomBytes as nodeRandomBytes, timingSafeEqual } from "node:crypto";

/** A source of random bytes, injectable for tests. */
export type RandomBytes = (size: number) => Uint8Array;

/** Node's CSPRNG. */
export const defaultRandomBytes: RandomBytes = (size) => nodeRandomBytes(size);

/** 256 bits, base64url: 43 characters. */
export const SECRET_BYTES = 32;
/** 128 bits, base64url: 22 characters. */
export const ID_BYTES = 16;

/**
 * A fresh random token of `bytes` bytes, base64url without padding.
 *
 * @example
 * const secret = randomToken(SECRET_BYTES); // 43 characters
 */
export function randomToken(bytes: number, random: RandomBytes = defaultRandomBytes): string {
  return Buffer.from(random(bytes)).toString("base64url");
}

/**
 * SHA-256 of a high-entropy secret, base64url. Not for passwords.
 *
 * @example
 * const stored = hashSecret(secret);
 */
export function hashSecret(secret: string): string {
  // One-shot `crypto.hash`: no Hash object per call (a third of createHash's cost, and
  // this runs on every cookie-authenticated request).
  return hash("sha256", secret, "base64url");
}

/**
 * HMAC-SHA-256 of `message` under `key`, base64url.
 *
 * @example
 * const csrf = hmac(serverKey, sessionId);
 */
export function hmac(key: Uint8Array | string, message: string): string {
  return createHmac("sha256", key).update(message, "utf8").digest("base64url");
}

/**
 * Compares two strings in time that depends only on their lengths.
 *
 * @example
 * if (!safeEqual(hashSecret(presented), session.secretHash)) return null;
 */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  if (left.length !== right.length) {
    // Still spend a comparison so the two branches cost about the same.
    timingSafeEqual(left, left);
    return false;
  }
  return timingSafeEqual(left, right);
}
