/**
 * Issue 32's passkeys in the client: `passkeyOptions` asks for this browser's challenge
 * (its cookie comes back with the answer), `signInWithPasskey` signs in with the answer
 * alone and tells the other tabs, `completeSignIn({ passkey })` is the second step after a
 * password, and `reauthenticateWithPasskey` re-authenticates; a refused answer rejects with
 * `invalid_passkey` and leaves the tab signed out. The WebAuthn call itself is the page's
 * (real Chromium covers it, test/e2e/passkeys.test.ts).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LatchkeyError } from "../src/index.js";
import { FakeLatchkey, PASSWORD } from "./fake-latchkey.js";
import { tab, within } from "./helpers.js";

const answer = (id: string) => ({ id, type: "public-key" as const, response: { signature: "sig" } });

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-03-01T12:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

describe.each(["session", "jwt", "hybrid"] as const)("under %s", (strategy) => {
  it("signInWithPasskey signs in with the answer to this browser's challenge", async () => {
    const server = new FakeLatchkey({ strategy, passkey: "cred-1" });
    const client = tab(server);
    const changes: string[] = [];
    client.onChange(({ reason }) => changes.push(reason));
    const options = await within(client.passkeyOptions());
    expect(options).toMatchObject({ userVerification: "required" });
    expect(typeof options.challenge).toBe("string");

    const refused = await within(client.signInWithPasskey(answer("cred-2")).catch((error: unknown) => error));
    expect(refused).toBeInstanceOf(LatchkeyError);
    expect(refused).toMatchObject({ status: 401, code: "invalid_passkey" });
    expect(await within(client.session())).toBeNull();

    await within(client.passkeyOptions());
    const info = await within(client.signInWithPasskey(answer("cred-1"), { remember: true }));
    expect(info).toMatchObject({ user: { username: "alice" }, strategy });
    const [sent] = server.sent("POST", "/auth/login/passkey").slice(-1);
    expect(JSON.parse(sent?.body ?? "")).toEqual({ response: answer("cred-1"), remember: true });
    expect(sent?.credentials).toBe("include");
    expect(changes).toEqual(["signed_in"]);
  });
});

it("completeSignIn takes a passkey after the password, in memory mode too", async () => {
  const server = new FakeLatchkey({ secondFactor: "492039", passkey: "cred-1" });
  const client = tab(server, { mode: "memory" });
  await within(client.signIn("alice", PASSWORD).catch(() => {}));
  await within(client.passkeyOptions());
  const info = await within(client.completeSignIn({ passkey: answer("cred-1") }));
  expect(info.user.username).toBe("alice");
  const [sent] = server.sent("POST", "/auth/login/second-factor");
  expect(JSON.parse(sent?.body ?? "")).toEqual({ passkey: answer("cred-1") });
});

it("reauthenticateWithPasskey sends the answer alone, and renews the access token", async () => {
  const server = new FakeLatchkey({ passkey: "cred-1" });
  const client = tab(server, { mode: "memory" });
  await within(client.signIn("alice", PASSWORD));
  await within(client.passkeyOptions());
  const recent = await within(client.reauthenticateWithPasskey(answer("cred-1")));
  expect(recent.amr).toEqual(["hwk", "mfa"]);
  const [sent] = server.sent("POST", "/auth/reauthenticate");
  expect(JSON.parse(sent?.body ?? "")).toEqual({ passkey: answer("cred-1") });
  expect(sent?.headers.get("authorization")).toMatch(/^Bearer at-/);
  // The challenge's cookie goes with the bearer token: the request is credentialed.
  expect(sent?.credentials).toBe("include");
  const stale = await within(client.reauthenticateWithPasskey(answer("cred-1")).catch((error: unknown) => error));
  expect(stale).toMatchObject({ status: 401, code: "invalid_passkey" });
});
