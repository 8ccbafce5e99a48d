/**
 * Helpers for token tests: craft JWTs with the server's own key (to test claim checks
 * that only a correctly signed token reaches) and by hand (to test what must never verify).
 */
import { type CryptoKey, importJWK, type JWTPayload, SignJWT } from "jose";
import type { Harness } from "./harness.js";

export const b64 = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** The server's current signing key, as the store holds it. */
export async function serverSigningKey(
  h: Harness,
): Promise<{ kid: string; alg: string; key: CryptoKey; publicJwk: Record<string, string> }> {
  const keys = await h.stores.keys.list();
  const current = keys.filter((k) => k.retiredAt === null).at(-1);
  if (!current) throw new Error("no signing key");
  return {
    kid: current.kid,
    alg: current.alg,
    key: (await importJWK(JSON.parse(current.privateJwk), current.alg)) as CryptoKey,
    publicJwk: JSON.parse(current.publicJwk),
  };
}

/** Signs `claims` with the server's key; `header` overrides the protected header. */
export async function signWithServerKey(
  h: Harness,
  claims: JWTPayload,
  header: Record<string, unknown> = {},
): Promise<string> {
  const { kid, alg, key } = await serverSigningKey(h);
  return new SignJWT(claims).setProtectedHeader({ alg, kid, typ: "at+jwt", ...header } as never).sign(key);
}

/** Decodes a compact JWS's header and payload without verifying. */
export function decode(token: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [header, payload] = token.split(".");
  return {
    header: JSON.parse(Buffer.from(header as string, "base64url").toString()),
    payload: JSON.parse(Buffer.from(payload as string, "base64url").toString()),
  };
}
