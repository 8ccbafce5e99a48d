/**
 * The browser's side of a passkey (WebAuthn, through `@simplewebauthn/browser`): the
 * server's options, the ceremony the browser runs (its own dialog: the fingerprint, the
 * PIN, the security key), and what its failures mean to a person. The answers go to the
 * server through api.ts.
 */
import {
  browserSupportsWebAuthn,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  startAuthentication,
  startRegistration,
} from "@simplewebauthn/browser";
import { call, client, LatchkeyError, type PasskeyAnswer } from "./api.js";

/**
 * The person closed the browser's passkey dialog, or it found no passkey or timed out: the
 * browser does not say which (`NotAllowedError`), on purpose. Nothing was sent.
 *
 * @example
 * catch (error) { if (error instanceof PasskeyCancelled) setNote(passkeyProblem(error)); }
 */
export class PasskeyCancelled extends Error {
  constructor() {
    super("Cancelled: no passkey was used.");
    this.name = "PasskeyCancelled";
  }
}

/**
 * Whether this browser can use passkeys at all (an old one, or a page without WebAuthn).
 *
 * @example
 * if (passkeysSupported()) showPasskeyButton();
 */
export function passkeysSupported(): boolean {
  return browserSupportsWebAuthn();
}

/** The browser's ceremony, its "not allowed" (the person said no) as {@link PasskeyCancelled}. */
async function ceremony<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof Error && (error.name === "NotAllowedError" || error.name === "AbortError")) {
      throw new PasskeyCancelled();
    }
    throw error;
  }
}

/**
 * A passkey's answer to a fresh challenge of this browser's (`POST /auth/passkey/options`,
 * then the browser's dialog): for a sign-in, its second step, or a recent sign-in.
 *
 * @example
 * await signInWithPasskey(await askPasskey(), { remember });
 */
export async function askPasskey(): Promise<PasskeyAnswer> {
  const { options } = await call(client.POST("/auth/passkey/options"));
  const optionsJSON = options as unknown as PublicKeyCredentialRequestOptionsJSON;
  return (await ceremony(() => startAuthentication({ optionsJSON }))) as PasskeyAnswer;
}

/**
 * A new passkey for the signed-in account, as the browser's dialog made it for the server's
 * options (`POST /auth/factors/passkeys/options`, which needs a recent sign-in).
 *
 * @example
 * const response = await makePasskey(); // then POST /auth/factors/passkeys
 */
export async function makePasskey() {
  const { options } = await call(client.POST("/auth/factors/passkeys/options"));
  const optionsJSON = options as unknown as PublicKeyCredentialCreationOptionsJSON;
  return ceremony(() => startRegistration({ optionsJSON }));
}

/**
 * What a failed passkey step means to a person, in a sentence.
 *
 * @example
 * setError(passkeyProblem(error)); // "Cancelled: no passkey was used. …"
 */
export function passkeyProblem(error: unknown): string {
  if (error instanceof PasskeyCancelled) {
    return "Cancelled: no passkey was used. Try again, or choose your passkey when the browser asks.";
  }
  if (error instanceof LatchkeyError) {
    if (error.code === "rate_limited") {
      const minutes = Math.max(1, Math.ceil((error.retryAfter ?? 60) / 60));
      return `Too many failed attempts. Try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
    }
    if (error.code === "factor_exists") return "This passkey is registered already.";
    return error.message;
  }
  // The browser refused before any dialog: another passkey of this account on the same
  // authenticator (`InvalidStateError`), or a page this browser will not use passkeys on.
  if (error instanceof Error && error.name === "InvalidStateError") {
    return "This authenticator already holds a passkey for your account.";
  }
  if (error instanceof Error && error.name !== "TypeError") {
    return `Your browser could not use a passkey here: ${error.message}`;
  }
  return "The server could not be reached. Try again.";
}
