/**
 * Session tokens are `id.secret`: a public 128-bit id that finds the row, and a 256-bit
 * secret that proves possession, stored only as its SHA-256 (lucia's `id.secret` design).
 */
import { ID_BYTES, type RandomBytes, randomToken, SECRET_BYTES } from "./secrets.js";

const TOKEN_PATTERN = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/** The two halves of a session token. */
export interface SessionTokenParts {
  id: string;
  secret: string;
}

/**
 * A new session id and secret.
 *
 * @example
 * const { id, secret } = newSessionToken();
 * const cookieValue = formatSessionToken({ id, secret });
 */
export function newSessionToken(random?: RandomBytes): SessionTokenParts {
  // A public id is typed on command lines (`latchkey sessions revoke <id>`), where a
  // leading "-" reads as an option: draw again in that 1-in-64 case.
  let id = randomToken(ID_BYTES, random);
  while (id.startsWith("-")) id = randomToken(ID_BYTES, random);
  return { id, secret: randomToken(SECRET_BYTES, random) };
}

/**
 * A fresh secret for an existing session id (password change rotates it).
 *
 * @example
 * const secret = newSessionSecret();
 */
export function newSessionSecret(random?: RandomBytes): string {
  return randomToken(SECRET_BYTES, random);
}

/**
 * The wire form, `id.secret`.
 *
 * @example
 * formatSessionToken({ id, secret }); // "AbC…xyz.Q2F…"
 */
export function formatSessionToken(parts: SessionTokenParts): string {
  return `${parts.id}.${parts.secret}`;
}

/**
 * Splits a presented token, or `null` when it is not exactly of the issued shape.
 *
 * @example
 * parseSessionToken(request.cookies["__Host-sid"] ?? "");
 */
export function parseSessionToken(value: string): SessionTokenParts | null {
  const match = TOKEN_PATTERN.exec(value);
  if (!match) return null;
  return { id: match[1] as string, secret: match[2] as string };
}
