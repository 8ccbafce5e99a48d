/**
 * Device cookies prove "this browser has signed in to this account before", bound to the
 * account's id, never to its name (issue 24, item 9).
 */
import { describe, expect, it } from "vitest";
import { DeviceCookies } from "../../packages/latchkey/src/core/device-cookies.js";
import { hmac, ID_BYTES, randomToken } from "../../packages/latchkey/src/core/secrets.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";

const ACCOUNT = "0195f3a2-7c1e-7b3a-9d4e-2f6a8b1c0d9e";
const NEXT_ACCOUNT = "0195f3a9-1111-7b3a-9d4e-2f6a8b1c0d9e";

describe("security: device cookies are bound to the account's id (issue 24, item 9)", () => {
  it("a cookie proves a device for the account it was issued for, not another account of the same name", async () => {
    const devices = await DeviceCookies.load(createMemoryStores().secrets);
    const cookie = devices.issue(ACCOUNT);
    expect(devices.verify(cookie, ACCOUNT)).toBe(cookie.split(".")[0]);
    expect(devices.verify(cookie, NEXT_ACCOUNT)).toBeNull();
  });

  it("a cookie of the earlier form, bound to a username, is no longer honoured", async () => {
    const stores = createMemoryStores();
    const devices = await DeviceCookies.load(stores.secrets);
    // What a release before this one issued: an HMAC of the id and the normalised username.
    const key = await stores.secrets.getOrCreate("device-key", "unused");
    const id = randomToken(ID_BYTES);
    const byName = `${id}.${hmac(key, `device:${id}:alice`)}`;
    expect(devices.verify(byName, "alice")).toBeNull();
    expect(devices.verify(byName, ACCOUNT)).toBeNull();
  });
});
