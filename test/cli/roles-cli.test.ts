/**
 * `latchkey users role` and `users list --role` (issue 27) against a real SQLite file while
 * a real server runs on it: a role change is audited, reaches the running server within a
 * second (the user's older tokens are refused; a refresh carries the new roles), and bad
 * input (no such user, an unknown role, the last admin) is exit code 1 with nothing changed.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import { type RunningServer, runCli, startServerProcess, within } from "../helpers/processes.js";

const PASSWORD = "correct horse battery staple";

interface Listed {
  username: string;
  id: string;
  status: string;
  roles: string[];
}

describe("latchkey users role", () => {
  let dir: string;
  let env: Record<string, string>;
  let server: RunningServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-roles-cli-"));
    env = { DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}` };
    server = await startServerProcess(env);
    for (const name of ["ann", "bob"])
      expect((await runCli(["users", "create", name], env, `${PASSWORD}\n`)).code).toBe(0);
  }, 30_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (path: string, body: unknown) =>
    fetch(`${server.origin}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json", origin: server.origin },
      body: JSON.stringify(body),
    });
  const grant = async (username: string) =>
    (await (await post("/auth/token", { username, password: PASSWORD })).json()) as {
      access_token: string;
      refresh_token: string;
    };
  const me = async (token: string) =>
    (await fetch(`${server.origin}/auth/me`, { headers: { authorization: `Bearer ${token}` } })).status;
  const rolesIn = (token: string): string[] =>
    JSON.parse(Buffer.from(token.split(".")[1] as string, "base64url").toString()).roles;
  const listed = async (...args: string[]): Promise<Listed[]> => {
    const result = await runCli(["users", "list", "--json", ...args], env);
    expect([result.code, result.stderr]).toEqual([0, ""]);
    return JSON.parse(result.stdout);
  };

  it("makes a user an admin: printed, audited, listed by --role; the server refuses the older token within a second and a refresh carries the new roles", async () => {
    const before = await grant("ann");
    expect(rolesIn(before.access_token)).toEqual(["user"]);
    expect(await me(before.access_token)).toBe(200);

    const set = await runCli(["users", "role", "ANN", "user", "admin"], env);
    expect([set.code, set.stderr]).toEqual([0, ""]);
    expect(set.stdout).toBe("ann now has the roles: admin, user\n");

    const took = await within(1000, async () => (await me(before.access_token)) === 401);
    expect(took).toBeLessThan(1000);
    const refreshed = await post("/auth/refresh", { refresh_token: before.refresh_token });
    expect(refreshed.status).toBe(200);
    const after = ((await refreshed.json()) as { access_token: string }).access_token;
    expect(rolesIn(after)).toEqual(["admin", "user"]);
    expect(await me(after)).toBe(200);

    expect(await listed("--role", "admin")).toEqual([
      expect.objectContaining({ username: "ann", roles: ["admin", "user"] }),
    ]);
    expect((await listed()).map((u) => [u.username, u.roles])).toEqual([
      ["ann", ["admin", "user"]],
      ["bob", ["user"]],
    ]);
    const table = await runCli(["users", "list"], env);
    expect(table.stdout).toMatch(/^USERNAME\s+ID\s+CREATED\s+STATUS\s+ROLES$/m);
    expect(table.stdout).toMatch(/^ann\s.*\senabled\s+admin,user$/m);
    expect(table.stdout).toMatch(/^bob\s.*\senabled\s+user$/m);

    // In the admin audit log as the CLI's doing (no actor), and in the user's security log.
    const ann = (await listed()).find((u) => u.username === "ann") as Listed;
    const stores = await openSqliteStores({ path: join(dir, "latchkey.db") });
    try {
      const audit = await stores.audit.list({ limit: 10, targetId: ann.id });
      expect(audit).toEqual([
        expect.objectContaining({
          action: "roles_set",
          actorId: null,
          targetUsername: "ann",
          userAgent: "latchkey-cli",
          detail: JSON.stringify({ from: ["user"], to: ["admin", "user"] }),
        }),
      ]);
      expect((await stores.events.listByUser(ann.id, 10)).map((e) => e.type)).toContain("roles_changed");
    } finally {
      await stores.close();
    }

    // The same roles again change nothing: no new audit entry, the token from the refresh still passes.
    expect((await runCli(["users", "role", "ann", "admin", "user"], env)).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 300)); // time for a change the feed should not carry
    expect(await me(after)).toBe(200);
    const again = await openSqliteStores({ path: join(dir, "latchkey.db") });
    try {
      expect(await again.audit.list({ limit: 10, targetId: ann.id })).toHaveLength(1);
    } finally {
      await again.close();
    }
  }, 30_000);

  it("refuses no such user, an unknown role, and the last admin's demotion or disabling with exit code 1, changing nothing", async () => {
    const unchanged = await listed();
    const refused = async (args: string[], message: RegExp) => {
      const result = await runCli(args, env);
      expect([result.code, result.stdout]).toEqual([1, ""]);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
    };
    await refused(["users", "role", "nobody-here", "admin"], /no user named "nobody-here"/);
    await refused(["users", "role", "bob", "admin", "wizard"], /Unknown role: "wizard" \(the roles are admin, user\)/);
    await refused(["users", "list", "--role", "wizard"], /Unknown role: "wizard"/);
    await refused(["users", "role", "ann", "user"], /ann is the last enabled admin/);
    await refused(["users", "disable", "ann"], /ann is the last enabled admin/);
    expect(await listed()).toEqual(unchanged);
    expect((await runCli(["users", "role", "bob"], env)).code).toBe(2);

    // With a second admin, the first may go; then the second is the last.
    expect((await runCli(["users", "role", "bob", "admin"], env)).code).toBe(0);
    expect((await runCli(["users", "role", "ann", "user"], env)).stdout).toBe("ann now has the roles: user\n");
    await refused(["users", "disable", "bob"], /bob is the last enabled admin/);
    await refused(["users", "role", "bob", "user"], /bob is the last enabled admin/);
    expect((await listed("--role", "admin")).map((u) => [u.username, u.status])).toEqual([["bob", "enabled"]]);
  }, 60_000);
});
