/**
 * `latchkey users remove-factors` (issue 32): a person who lost both their phone and their
 * recovery codes gets their account back through an operator. Against a real SQLite file
 * while a real server runs on it: the account's password sign-in needs a code (202), the
 * command removes the app and the codes, and the next sign-in is a plain 200; the user's
 * log and the audit log say so; no such user is exit code 1. And `latchkey factors reseal`
 * moves every secret from the database's key to `MFA_KEYS`.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { totpCode, totpKey, totpStep } from "../../packages/latchkey/src/core/totp.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import { hostCore } from "../helpers/host-app.js";
import { type RunningServer, runCli, startServerProcess } from "../helpers/processes.js";

const PASSWORD = "correct horse battery staple";

describe("latchkey users remove-factors", () => {
  let dir: string;
  let env: Record<string, string>;
  let server: RunningServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-factors-cli-"));
    env = { DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}` };
    server = await startServerProcess(env);
    expect((await runCli(["users", "create", "cleo"], env, `${PASSWORD}\n`)).code).toBe(0);
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const send = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.origin}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: server.origin, ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const token = () => send("/auth/token", { username: "cleo", password: PASSWORD });

  it("removes the app and the codes: the password alone signs in again, and the logs say who did it", async () => {
    const { access_token } = (await (await token()).json()) as { access_token: string };
    const bearer = { authorization: `Bearer ${access_token}` };
    const begun = (await (await send("/auth/factors/totp", undefined, bearer)).json()) as {
      factorId: string;
      secret: string;
    };
    const code = totpCode(totpKey(begun.secret), totpStep(Date.now()));
    const confirmed = await send("/auth/factors/totp/confirm", { factorId: begun.factorId, code }, bearer);
    expect(confirmed.status).toBe(200);
    expect((await token()).status).toBe(202);

    // Moving off the database's key: MFA_KEYS set, then every secret sealed under it.
    const newKey = randomBytes(32).toString("base64");
    const resealed = await runCli(["factors", "reseal"], { ...env, MFA_KEYS: newKey });
    expect([resealed.code, resealed.stderr]).toEqual([0, ""]);
    expect(resealed.stdout).toMatch(/^re-sealed 1 secret under key [\w-]{8}; every secret is now under it\n$/);
    expect((await runCli(["factors", "reseal"], { ...env, MFA_KEYS: newKey })).stdout).toMatch(/^re-sealed 0 secrets/);
    // Under MFA_KEYS alone (no database key), the app's next code is accepted.
    const under = await openSqliteStores({ path: join(dir, "latchkey.db") });
    const core = await hostCore(under, { factors: { keys: [newKey] } });
    try {
      const cleo = await under.users.findByUsername("cleo");
      const next = totpCode(totpKey(begun.secret), totpStep(Date.now()) + 1);
      expect(await core.factors.verify(cleo?.id ?? "", { code: next }, {})).toEqual(["mfa", "otp"]);
    } finally {
      await core.close();
      await under.close();
    }

    const removed = await runCli(["users", "remove-factors", "cleo"], env);
    expect([removed.code, removed.stderr]).toEqual([0, ""]);
    expect(removed.stdout).toBe("removed cleo's second factors and recovery codes; the password alone signs in now\n");
    expect((await token()).status).toBe(200);

    const again = await runCli(["users", "remove-factors", "cleo"], env);
    expect([again.code, again.stdout]).toEqual([0, "cleo has no second factor\n"]);
    const nobody = await runCli(["users", "remove-factors", "nobody"], env);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain('no user named "nobody"');

    const stores = await openSqliteStores({ path: join(dir, "latchkey.db") });
    try {
      const audit = await stores.audit.list({ limit: 10 });
      expect(audit.filter((entry) => entry.action === "factors_removed")).toEqual([
        expect.objectContaining({ actorId: null, targetUsername: "cleo", detail: '{"factors":1,"codes":10}' }),
      ]);
      const user = await stores.users.findByUsername("cleo");
      const events = await stores.events.listByUser(user?.id ?? "", 20);
      expect(events.map((e) => e.type)).toContain("totp_disabled");
    } finally {
      await stores.close();
    }
  }, 60_000);
});
