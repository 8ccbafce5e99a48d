/**
 * The server keys that seal second-factor secrets at rest. A TOTP secret must be read back
 * to check a code, so it cannot be hashed like a password: it is encrypted with
 * AES-256-GCM under a key the database does not hold (`MFA_KEYS`, or `factors.keys`), so
 * a copy of the database alone yields no authenticator.
 *
 * Keys form a list: the first seals, every one opens what it sealed (each sealed value
 * names its key by an id derived from the key). Rotation: put a new key first, let
 * `latchkey factors reseal` (or each factor's next use) re-seal under it, then drop the old
 * one (`docs/accounts.md`, "The server key").
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { AuthError } from "./errors.js";

const VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

interface Key {
  id: string;
  key: Buffer;
}

/**
 * Parses a key list: 32-byte keys in base64 or base64url, separated by commas or
 * whitespace (the first seals). A `TypeError` names what is wrong, never the key itself.
 * @example
 * const keys = parseFactorKeys(process.env.MFA_KEYS ?? "");
 */
export function parseFactorKeys(list: string | readonly string[]): Buffer[] {
  const items = (typeof list === "string" ? list.split(/[\s,]+/) : [...list]).map((k) => k.trim()).filter(Boolean);
  return items.map((item, i) => {
    const key = Buffer.from(item.replace(/-/g, "+").replace(/_/g, "/"), "base64");
    if (key.length !== KEY_BYTES || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(item)) {
      throw new TypeError(
        `latchkey: second-factor key ${i + 1} is not 32 bytes in base64 (make one with: openssl rand -base64 32)`,
      );
    }
    return key;
  });
}

/**
 * Seals and opens second-factor secrets under a list of keys.
 * @example
 * const keys = new FactorKeys(parseFactorKeys(process.env.MFA_KEYS ?? ""));
 * const sealed = keys.seal("JBSWY3DPEHPK3PXP", `totp:${userId}`);
 * keys.open(sealed, `totp:${userId}`); // "JBSWY3DPEHPK3PXP"
 */
export class FactorKeys {
  readonly #keys: Key[];

  constructor(keys: readonly Uint8Array[]) {
    if (keys.length === 0) throw new TypeError("latchkey: FactorKeys needs at least one key");
    this.#keys = keys.map((key) => {
      if (key.length !== KEY_BYTES) throw new TypeError("latchkey: a second-factor key must be 32 bytes");
      const bytes = Buffer.from(key);
      return { id: createHash("sha256").update(bytes).digest("base64url").slice(0, 8), key: bytes };
    });
  }

  /** The id of the key that seals: a value sealed under another one is re-sealed on use. */
  get currentId(): string {
    return (this.#keys[0] as Key).id;
  }

  /**
   * Encrypts `plain`, bound to `context` (the factor it belongs to: a sealed value copied
   * to another row does not open there). `v1.<key id>.<iv>.<ciphertext and tag>`.
   */
  seal(plain: string, context: string): string {
    const { id, key } = this.#keys[0] as Key;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, "utf8"));
    const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final(), cipher.getAuthTag()]);
    return [VERSION, id, iv.toString("base64url"), body.toString("base64url")].join(".");
  }

  /** Whether `sealed` was sealed under the current key. */
  isCurrent(sealed: string): boolean {
    return sealed.split(".")[1] === this.currentId;
  }

  /**
   * Decrypts a sealed value. A value under a key no longer configured, or altered, is a
   * `service_unavailable` (503) for the caller and says which, never what it held: the
   * server's set-up is wrong, not the user's code.
   */
  open(sealed: string, context: string): string {
    const [version, id, iv, body] = sealed.split(".");
    const found = this.#keys.find((k) => k.id === id);
    if (version !== VERSION || !found || !iv || !body) {
      throw new AuthError(
        "service_unavailable",
        "This second factor was sealed under a server key that is no longer configured (MFA_KEYS).",
      );
    }
    try {
      const data = Buffer.from(body, "base64url");
      const decipher = createDecipheriv("aes-256-gcm", found.key, Buffer.from(iv, "base64url"), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(context, "utf8"));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      return Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]).toString(
        "utf8",
      );
    } catch (error) {
      throw new AuthError("service_unavailable", "A sealed second-factor secret failed its integrity check.", {
        cause: error,
      });
    }
  }
}
