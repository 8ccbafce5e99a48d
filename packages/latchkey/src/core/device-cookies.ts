/**
 * Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): after a
 * successful login the browser gets a long-lived cookie that proves "this browser has
 * signed in to this account before". A login that presents one valid for the account is
 * throttled per device instead of per account, so a stranger who spends the account's
 * failed-login budget locks out only browsers that never signed in to it, never its owner.
 *
 * The cookie is `id.mac`: a random id and an HMAC-SHA-256 of the id and the account's id
 * under a server-wide key kept in the store. Nothing is stored per device, the account is
 * not readable from the cookie, and a cookie is worthless for another account, including
 * a later account that took a deleted one's name (issue 24, item 9: cookies were bound to
 * the username, so whoever once held a name kept devices for its next owner). Cookies of
 * that earlier form carry another MAC label and are no longer honoured.
 */
import type { SecretStore } from "./ports.js";
import { hmac, ID_BYTES, type RandomBytes, randomToken, safeEqual } from "./secrets.js";

const KEY_NAME = "device-key";
const DEVICE_COOKIE = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

/**
 * @example
 * const devices = await DeviceCookies.load(stores.secrets);
 * const cookie = devices.issue(user.id);
 * devices.verify(cookie, user.id); // the device id, or null
 */
export class DeviceCookies {
  readonly #key: string;
  readonly #random: RandomBytes | undefined;

  private constructor(key: string, random?: RandomBytes) {
    this.#key = key;
    this.#random = random;
  }

  /** Loads the key, creating it on the first start of the first instance. */
  static async load(secrets: SecretStore, random?: RandomBytes): Promise<DeviceCookies> {
    return new DeviceCookies(await secrets.getOrCreate(KEY_NAME, randomToken(32, random)), random);
  }

  /** A new device cookie value for an account (its id, never its name). */
  issue(accountId: string): string {
    const id = randomToken(ID_BYTES, this.#random);
    return `${id}.${this.#mac(id, accountId)}`;
  }

  /** The device id a cookie proves for this account (its id), or `null`. */
  verify(value: string | undefined, accountId: string): string | null {
    const match = value ? DEVICE_COOKIE.exec(value) : null;
    if (!match) return null;
    const [, id, mac] = match as unknown as [string, string, string];
    return safeEqual(mac, this.#mac(id, accountId)) ? id : null;
  }

  #mac(id: string, accountId: string): string {
    // "device-account": the name-bound cookies of earlier releases were MACed as
    // "device:<id>:<username>", and must not verify under any account.
    return hmac(this.#key, `device-account:${id}:${accountId}`);
  }
}
