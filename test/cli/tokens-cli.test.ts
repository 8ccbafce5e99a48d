/**
 * Token changes made by the CLI in one process reach a running server in another within a
 * second: a revoked session's access token is refused (REVOCATION=immediate, through the
 * change feed, without a store read per request), and a rotated key signs at once while
 * the old one keeps verifying.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, runCli, startServerProcess, within } from "../helpers/processes.js";

const PASSWORD = "correct horse battery staple";

describe("keys and revocation across processes", () => {
  let dir: string;
  let env: Record<string, string>;
  let server: RunningServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-keys-"));
    env = { DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}` };
    server = await startServerProcess(env);
    expect((await runCli(["users", "create", "carol"], env, PASSWORD)).code).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const token = async () => {
    const response = await fetch(`${server.origin}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "carol", password: PASSWORD }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as { access_token: string; refresh_token: string };
  };
  const status = async (accessToken: string) =>
    (await fetch(`${server.origin}/api/todos`, { headers: { authorization: `Bearer ${accessToken}` } })).status;
  const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[0] as string, "base64url").toString()).kid;
  const sidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1] as string, "base64url").toString()).sid;

  it("sessions revoke by the CLI: the access token is refused within a second", async () => {
    const { access_token } = await token();
    expect(await status(access_token)).toBe(200);
    expect((await runCli(["sessions", "revoke", sidOf(access_token)], env)).code).toBe(0);
    const took = await within(1000, async () => (await status(access_token)) === 401);
    expect(took).toBeLessThanOrEqual(1000);
  });

  it("users disable: every access token of the user is refused within a second", async () => {
    const one = await token();
    const two = await token();
    expect((await runCli(["users", "disable", "carol"], env)).code).toBe(0);
    await within(
      1000,
      async () => (await status(one.access_token)) === 401 && (await status(two.access_token)) === 401,
    );
    expect((await runCli(["users", "enable", "carol"], env)).code).toBe(0);
  });

  it("a restarted server still refuses the tokens of sessions ended before it started", async () => {
    const { access_token } = await token();
    expect((await runCli(["sessions", "revoke", sidOf(access_token)], env)).code).toBe(0);
    await server.stop();
    server = await startServerProcess(env);
    expect(await status(access_token)).toBe(401);
    expect(await status((await token()).access_token)).toBe(200);
  });

  it("keys list and keys rotate: the new key signs within a second, the old one still verifies", async () => {
    const listed = await runCli(["keys", "list"], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^KID\s+ALG\s+CREATED\s+RETIRED\s+STATE/m);
    expect(listed.stdout).toMatch(/EdDSA.*signing/);
    expect(listed.stdout).not.toMatch(/"d"|private/i);

    const before = await token();
    const oldKid = kidOf(before.access_token);
    const rotated = await runCli(["keys", "rotate"], env);
    expect(rotated.code).toBe(0);
    const newKid = /new signing key (\S+);/.exec(rotated.stdout)?.[1];
    expect(newKid).toBeDefined();
    expect(newKid).not.toBe(oldKid);
    await within(1000, async () => kidOf((await token()).access_token) === newKid);
    expect(await status(before.access_token)).toBe(200);
    const jwks = (await (await fetch(`${server.origin}/.well-known/jwks.json`)).json()) as {
      keys: Array<{ kid: string }>;
    };
    expect(jwks.keys.map((k) => k.kid).sort()).toEqual([oldKid, newKid].sort());
    const after = await runCli(["keys", "list", "--json"], env);
    const states = Object.fromEntries(
      (JSON.parse(after.stdout) as Array<{ kid: string; state: string }>).map((k) => [k.kid, k.state]),
    );
    expect(states[newKid as string]).toBe("signing");
    expect(states[oldKid]).toBe("verifying");
  });
});
