/**
 * `latchkey services`: create prints a client id and a secret once, the database holds
 * only the secret's hash, list never shows a secret, revoke refuses the credentials at
 * once; bad names and repeats are clear errors with exit code 1.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashSecret } from "../../packages/latchkey/src/core/secrets.js";
import { createMemoryStores } from "../../packages/latchkey/src/stores/memory/index.js";
import { openSqliteStores } from "../../packages/latchkey/src/stores/sqlite/index.js";
import { openTestAuth } from "../helpers/auth.js";
import { runCli } from "../helpers/processes.js";

describe("latchkey services", () => {
  let dir: string;
  let env: Record<string, string>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-services-"));
    env = { DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}` };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("creates a service, keeps only the secret's hash, lists it without a secret, and revokes it", async () => {
    const created = await runCli(["services", "create", "billing", "--json"], env);
    expect(created.code).toBe(0);
    const { client_id, client_secret } = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    expect(client_id).toMatch(/^svc_[A-Za-z0-9_-]{22}$/);
    expect(client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // The database file never holds the secret itself, only its hash.
    const file = readFileSync(join(dir, "latchkey.db"));
    expect(file.includes(client_secret)).toBe(false);
    const stores = await openSqliteStores({ path: join(dir, "latchkey.db") });
    try {
      expect((await stores.services?.findById(client_id))?.secretHash).toBe(hashSecret(client_secret));
    } finally {
      await stores.close();
    }

    const listed = await runCli(["services", "list", "--json"], env);
    expect(listed.stdout).toContain(client_id);
    expect(listed.stdout).not.toContain(client_secret);
    expect(JSON.parse(listed.stdout)[0].status).toBe("active");

    expect((await runCli(["services", "revoke", "billing"], env)).code).toBe(0);
    expect(JSON.parse((await runCli(["services", "list", "--json"], env)).stdout)[0].status).toMatch(/^revoked /);
    const again = await runCli(["services", "revoke", "billing"], env);
    expect([again.code, again.stderr]).toEqual([1, expect.stringContaining('no active service named "billing"')]);
  }, 30_000);

  it("refuses a bad name and a taken one, clearly", async () => {
    const bad = await runCli(["services", "create", "Billing Service"], env);
    expect([bad.code, bad.stderr]).toEqual([1, expect.stringContaining("lower-case letters")]);
    expect((await runCli(["services", "create", "mail"], env)).code).toBe(0);
    const taken = await runCli(["services", "create", "mail"], env);
    expect([taken.code, taken.stderr]).toEqual([1, expect.stringContaining('named "mail" exists')]);
  }, 30_000);
});

describe("ServiceAccounts", () => {
  it("authenticates the live service's own secret only; unknown, wrong and revoked are one invalid_client", async () => {
    const auth = await openTestAuth(createMemoryStores());
    try {
      const { service, clientSecret } = await auth.services.create("search");
      expect((await auth.services.authenticate(service.id, clientSecret)).name).toBe("search");
      const refused = async (id: string, secret: string) =>
        auth.services.authenticate(id, secret).then(
          () => "accepted",
          (error: { code?: string; statusCode?: number }) => `${error.code} ${error.statusCode}`,
        );
      expect(await refused(service.id, `${clientSecret}x`)).toBe("invalid_client 401");
      expect(await refused("svc_unknownunknownunknow", clientSecret)).toBe("invalid_client 401");
      expect(await refused("not-a-client-id", clientSecret)).toBe("invalid_client 401");
      const position = await auth.stores.changes.position();
      await auth.services.revoke("search");
      expect(await refused(service.id, clientSecret)).toBe("invalid_client 401");
      // Every instance hears of it.
      const changes = await auth.stores.changes.read(position.seq, 0, 10);
      expect(changes.map((c) => [c.kind, c.subject])).toContainEqual(["service_revoked", service.id]);
    } finally {
      auth.stop();
    }
  });
});
