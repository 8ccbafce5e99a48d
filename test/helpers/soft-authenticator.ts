/**
 * A WebAuthn authenticator in software, for HTTP tests without a browser: it makes
 * passkeys (P-256, attestation `none`) and signs challenges as a platform authenticator
 * does (WebAuthn Level 3, sections 6.1 and 6.5). Real Chromium's virtual authenticator
 * covers the browser (test/e2e/passkeys.test.ts); this one lets a test forge what a
 * browser never would: another origin, no user verification, a counter that goes back.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign } from "node:crypto";
import { isoBase64URL, isoCBOR } from "@simplewebauthn/server/helpers";

const b64 = (bytes: Uint8Array) => isoBase64URL.fromBuffer(new Uint8Array(bytes));
const sha256 = (data: Uint8Array | string) => new Uint8Array(createHash("sha256").update(data).digest());
const u32 = (n: number) => {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n);
  return out;
};
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

/** Flags of authenticator data: user present, user verified, attested credential data. */
const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

/** One credential the authenticator holds. */
export interface SoftCredential {
  id: Uint8Array;
  privateKey: KeyObject;
  publicKey: KeyObject;
  userHandle: string;
  rpId: string;
  counter: number;
}

/** What a test may change in one answer. */
export interface Tamper {
  origin?: string;
  rpId?: string;
  userVerified?: boolean;
  counter?: number;
  challenge?: string;
  type?: string;
  /** Register this credential again (its id and key), as an authenticator never would. */
  reuse?: SoftCredential;
}

/**
 * @example
 * const authenticator = new SoftAuthenticator("http://localhost:3000");
 * const response = authenticator.register(options);
 * const assertion = authenticator.assert(signInOptions);
 */
export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];

  constructor(readonly origin: string) {}

  /** `navigator.credentials.create` for these options (as the server's JSON). */
  register(options: { challenge: string; rp: { id?: string }; user: { id: string } }, tamper: Tamper = {}) {
    const rpId = options.rp.id ?? new URL(this.origin).hostname;
    const { privateKey, publicKey } = tamper.reuse ?? generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    const cose = new Map<number, number | Uint8Array>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, isoBase64URL.toBuffer(jwk.x as string)],
      [-3, isoBase64URL.toBuffer(jwk.y as string)],
    ]);
    const id = tamper.reuse?.id ?? new Uint8Array(randomBytes(16));
    const credential: SoftCredential = {
      id,
      privateKey,
      publicKey,
      userHandle: options.user.id,
      rpId,
      counter: tamper.counter ?? 0,
    };
    const flags = UP | (tamper.userVerified === false ? 0 : UV) | AT;
    const lengthBytes = new Uint8Array([id.length >> 8, id.length & 0xff]);
    const authData = concat(
      sha256(tamper.rpId ?? rpId),
      new Uint8Array([flags]),
      u32(credential.counter),
      new Uint8Array(16),
      lengthBytes,
      id,
      isoCBOR.encode(cose),
    );
    const attestationObject = isoCBOR.encode(
      new Map<string, unknown>([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", authData],
      ]) as never,
    );
    const clientData = this.#clientData("webauthn.create", tamper.challenge ?? options.challenge, tamper);
    this.credentials.push(credential);
    return {
      id: b64(id),
      rawId: b64(id),
      type: "public-key" as const,
      response: {
        clientDataJSON: b64(clientData),
        attestationObject: b64(attestationObject),
        transports: ["internal"],
      },
      clientExtensionResults: {},
    };
  }

  /** `navigator.credentials.get` for these options, with `credential` (default: the last made). */
  assert(options: { challenge: string }, credential = this.credentials.at(-1), tamper: Tamper = {}) {
    if (!credential) throw new Error("no credential: register one first");
    credential.counter = tamper.counter ?? credential.counter + 1;
    const flags = UP | (tamper.userVerified === false ? 0 : UV);
    const authData = concat(sha256(tamper.rpId ?? credential.rpId), new Uint8Array([flags]), u32(credential.counter));
    const clientData = this.#clientData("webauthn.get", tamper.challenge ?? options.challenge, tamper);
    const signature = sign("sha256", concat(authData, sha256(clientData)), credential.privateKey);
    return {
      id: b64(credential.id),
      rawId: b64(credential.id),
      type: "public-key" as const,
      response: {
        clientDataJSON: b64(clientData),
        authenticatorData: b64(authData),
        signature: b64(new Uint8Array(signature)),
        userHandle: credential.userHandle,
      },
      clientExtensionResults: {},
    };
  }

  #clientData(type: string, challenge: string, tamper: Tamper): Uint8Array {
    const json = { type: tamper.type ?? type, challenge, origin: tamper.origin ?? this.origin, crossOrigin: false };
    return new TextEncoder().encode(JSON.stringify(json));
  }
}
