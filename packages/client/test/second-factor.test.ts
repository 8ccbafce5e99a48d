/**
 * Issue 32 in the client: a sign-in of an account with a second factor rejects with
 * `SecondFactorRequired` (not a refusal, and no session yet, in this tab or the others),
 * `completeSignIn` finishes it with the pending cookie and a code (or a recovery code), and
 * `reauthenticate` sends the code with the password.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { LatchkeyError, SecondFactorRequired } from "../src/index.js";
import { FakeLatchkey, PASSWORD } from "./fake-latchkey.js";
import { tab, within } from "./helpers.js";

beforeEach(() => {
  vi.useFakeTimers({ now: new Date("2026-03-01T12:00:00Z") });
});
afterEach(() => {
  vi.useRealTimers();
});

describe.each(["session", "jwt", "hybrid"] as const)("under %s", (strategy) => {
  it("signIn rejects with SecondFactorRequired, and completeSignIn opens the session", async () => {
    const server = new FakeLatchkey({ strategy, secondFactor: "492039" });
    const client = tab(server);
    const changes: string[] = [];
    client.onChange(({ reason }) => changes.push(reason));
    const first = await within(client.signIn("alice", PASSWORD).catch((error: unknown) => error));
    expect(first).toBeInstanceOf(SecondFactorRequired);
    expect(first).toBeInstanceOf(LatchkeyError);
    expect(first).toMatchObject({
      status: 202,
      code: "second_factor_required",
      methods: ["totp", "recovery_code"],
      expiresIn: 300,
    });
    expect(await within(client.session())).toBeNull();
    expect(changes).toEqual([]);

    const wrong = await within(client.completeSignIn({ code: "000000" }).catch((error: unknown) => error));
    expect(wrong).toMatchObject({ status: 401, code: "invalid_code" });
    const info = await within(client.completeSignIn({ code: "492039" }));
    expect(info).toMatchObject({ user: { username: "alice" }, strategy });
    const [sent] = server.sent("POST", "/auth/login/second-factor").slice(-1);
    expect(JSON.parse(sent?.body ?? "")).toEqual({ code: "492039" });
    expect(sent?.credentials).toBe("include");
    expect(await within(client.session())).toMatchObject({ sessionId: info.sessionId });
    expect(changes).toEqual(["signed_in"]);
  });
});

it("completeSignIn takes a recovery code, and says sign_in_expired once the pending sign-in is gone", async () => {
  const server = new FakeLatchkey({ strategy: "jwt", secondFactor: "492039" });
  const client = tab(server);
  await within(client.signIn("alice", PASSWORD).catch(() => {}));
  await within(client.completeSignIn({ recoveryCode: "rc" }));
  const [sent] = server.sent("POST", "/auth/login/second-factor");
  expect(JSON.parse(sent?.body ?? "")).toEqual({ recoveryCode: "rc" });
  const again = await within(client.completeSignIn({ code: "492039" }).catch((error: unknown) => error));
  expect(again).toMatchObject({ status: 401, code: "sign_in_expired" });
});

it("reauthenticate sends the code with the password in memory mode too", async () => {
  const server = new FakeLatchkey({ secondFactor: "492039" });
  const client = tab(server, { mode: "memory" });
  await within(client.signIn("alice", PASSWORD).catch(() => {}));
  await within(client.completeSignIn({ code: "492039" }));
  const missing = await within(client.reauthenticate(PASSWORD).catch((error: unknown) => error));
  expect(missing).toMatchObject({ status: 401, code: "invalid_code" });
  const recent = await within(client.reauthenticate(PASSWORD, { code: "492039" }));
  expect(recent.amr).toEqual(["mfa", "otp", "pwd"]);
  const [, sent] = server.sent("POST", "/auth/reauthenticate");
  expect(JSON.parse(sent?.body ?? "")).toEqual({ password: PASSWORD, code: "492039" });
  expect(sent?.headers.get("authorization")).toMatch(/^Bearer at-/);
});
