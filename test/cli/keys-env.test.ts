/**
 * Issue 19, bug 1, across real processes: with a server on JWT_ALG=ES256, a read-only
 * `latchkey users list` on the same database without JWT_ALG created an EdDSA key and
 * retired the ES256 one; a second later POST /auth/token answered 500. Commands that only
 * read write no keys, no process retires another algorithm's keys, and `keys rotate`
 * without JWT_ALG rotates the algorithm the deployment signs with.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, runCli, startServerProcess, within } from "../helpers/processes.js";

const PASSWORD = "correct horse battery staple";

describe("claim: the CLI is safe without the server's environment", () => {
  let dir: string;
  let database: Record<string, string>;
  let server: RunningServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-keys-env-"));
    database = { DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}` };
    server = await startServerProcess({ ...database, JWT_ALG: "ES256" });
    expect((await runCli(["users", "create", "dave"], { ...database, JWT_ALG: "ES256" }, PASSWORD)).code).toBe(0);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const token = async () => {
    const response = await fetch(`${server.origin}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "dave", password: PASSWORD }),
    });
    return { status: response.status, body: (await response.json()) as { access_token?: string } };
  };
  const header = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[0] as string, "base64url").toString());
  const keysList = async () =>
    JSON.parse((await runCli(["keys", "list", "--json"], database)).stdout) as Array<Record<string, string>>;

  it("users list without JWT_ALG writes no key, and the server keeps issuing ES256 tokens", async () => {
    const before = await keysList();
    expect(before.map((k) => [k.alg, k.state])).toEqual([["ES256", "signing"]]);
    expect((await runCli(["users", "list"], database)).code).toBe(0);
    expect((await runCli(["sessions", "list"], database)).code).toBe(0);
    expect(await keysList()).toEqual(before);
    await new Promise((resolve) => setTimeout(resolve, 1200)); // past any change-feed poll
    const issued = await token();
    expect(issued.status).toBe(200);
    expect(header(issued.body.access_token as string).alg).toBe("ES256");
  });

  it("keys rotate without JWT_ALG rotates the deployment's ES256 key, which the server signs with within a second", async () => {
    const old = (await keysList())[0]?.kid;
    const rotated = await runCli(["keys", "rotate"], database);
    expect(rotated.code).toBe(0);
    const keys = await keysList();
    expect(keys.map((k) => k.alg)).toEqual(["ES256", "ES256"]);
    const fresh = keys.find((k) => k.state === "signing")?.kid;
    expect(fresh).not.toBe(old);
    await within(1000, async () => {
      const issued = await token();
      return issued.status === 200 && header(issued.body.access_token as string).kid === fresh;
    });
  });
});
