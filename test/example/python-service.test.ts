/**
 * examples/python-service: a service in another language (Debian's Python, the standard
 * library and PyJWT) verifies latchkey's tokens with the JWKS and follows the revocation
 * feed: valid tokens pass, forged and service tokens do not, and a token is refused within
 * a second of its session ending, or of its user's roles changing (`roles_changed`).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type RunningServer, runCli, startServerProcess, within } from "../helpers/processes.js";
import { describeWith } from "../helpers/services.js";

const SERVICE = fileURLToPath(new URL("../../examples/python-service/service.py", import.meta.url));
const PYTHON = "/usr/bin/python3";
const PASSWORD = "correct horse battery staple";

const pythonJwt = (() => {
  try {
    execFileSync(PYTHON, ["-c", "import jwt, cryptography"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

describeWith("python3-jwt", pythonJwt)("examples/python-service", () => {
  let dir: string;
  let env: Record<string, string>;
  let latchkey: RunningServer;
  let service: ChildProcess;
  let url: string;
  let credentials: { client_id: string; client_secret: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-python-"));
    env = { DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}` };
    latchkey = await startServerProcess(env);
    credentials = JSON.parse((await runCli(["services", "create", "python", "--json"], env)).stdout);
    expect((await runCli(["users", "create", "erin"], env, PASSWORD)).code).toBe(0);
    service = spawn(PYTHON, [SERVICE], {
      env: {
        PATH: process.env.PATH ?? "",
        LATCHKEY_ORIGIN: latchkey.origin,
        CLIENT_ID: credentials.client_id,
        CLIENT_SECRET: credentials.client_secret,
        PORT: "0",
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const port = await new Promise<number>((resolve, reject) => {
      service.stdout?.on("data", (chunk) => {
        const match = /"port": (\d+)/.exec(String(chunk));
        if (match) resolve(Number(match[1]));
      });
      service.once("exit", () => reject(new Error("the python service exited")));
    });
    url = `http://127.0.0.1:${port}/hello`;
  }, 30_000);
  afterAll(async () => {
    service?.kill("SIGTERM");
    await latchkey?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const signIn = async (username = "erin") => {
    const response = await fetch(`${latchkey.origin}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    return (await response.json()) as { access_token: string; refresh_token: string };
  };
  const token = async () => (await signIn()).access_token;
  const basic = () =>
    `Basic ${Buffer.from(`${credentials.client_id}:${credentials.client_secret}`).toString("base64")}`;
  const call = (accessToken: string) => fetch(url, { headers: { authorization: `Bearer ${accessToken}` } });

  it("accepts a live token once it has read the feed, and refuses forged ones and a service's", async () => {
    const accessToken = await token();
    await within(5000, async () => (await call(accessToken)).status === 200);
    const body = (await (await call(accessToken)).json()) as { hello: string; session: string };
    const claims = JSON.parse(Buffer.from(accessToken.split(".")[1] as string, "base64url").toString());
    expect(body).toEqual({ hello: claims.sub, session: claims.sid, roles: ["user"] });
    const [header, payload, signature] = accessToken.split(".") as [string, string, string];
    const edited = Buffer.from(JSON.stringify({ ...claims, sub: "admin" })).toString("base64url");
    for (const forged of [`${header}.${edited}.${signature}`, `${header}.${payload}.`, "not-a-token"]) {
      expect((await call(forged)).status).toBe(401);
    }
    const grant = await fetch(`${latchkey.origin}/auth/token`, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${Buffer.from(`${credentials.client_id}:${credentials.client_secret}`).toString("base64")}`,
      },
      body: "grant_type=client_credentials",
    });
    expect((await call(((await grant.json()) as { access_token: string }).access_token)).status).toBe(401);
  });

  it("refuses a token within a second of logout", async () => {
    const accessToken = await token();
    await within(5000, async () => (await call(accessToken)).status === 200);
    await fetch(`${latchkey.origin}/auth/logout`, {
      method: "POST",
      headers: { authorization: `Bearer ${accessToken}`, origin: latchkey.origin },
    });
    const took = await within(1000, async () => (await call(accessToken)).status === 401);
    expect(took).toBeLessThan(1000);
  });

  it("refuses a token within a second of its user's roles changing; the refreshed token, with the new roles, passes", async () => {
    expect((await runCli(["users", "create", "fred"], env, PASSWORD)).code).toBe(0);
    const before = await signIn("fred");
    await within(5000, async () => (await call(before.access_token)).status === 200);
    const cursor = await fetch(`${latchkey.origin}/auth/revocations`, { headers: { authorization: basic() } });
    const since = ((await cursor.json()) as { cursor: string }).cursor;

    expect((await runCli(["users", "role", "fred", "admin"], env)).code).toBe(0);
    const took = await within(1000, async () => (await call(before.access_token)).status === 401);
    expect(took).toBeLessThan(1000);
    const refused = (await (await call(before.access_token)).json()) as { error: { message: string } };
    expect(refused.error.message).toMatch(/roles have changed/);

    const refreshed = await fetch(`${latchkey.origin}/auth/refresh`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: before.refresh_token }),
    });
    const after = ((await refreshed.json()) as { access_token: string }).access_token;
    const answer = await call(after);
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as { roles: string[] }).roles).toEqual(["admin"]);

    // What the service was told: the user and the exact time their roles changed.
    const feed = await fetch(`${latchkey.origin}/auth/revocations?since=${encodeURIComponent(since)}`, {
      headers: { authorization: basic() },
    });
    const { entries } = (await feed.json()) as { entries: { type: string; sub?: string; roles_at?: number }[] };
    const claims = JSON.parse(Buffer.from(after.split(".")[1] as string, "base64url").toString());
    expect(entries.filter((e) => e.type === "roles_changed")).toEqual([
      expect.objectContaining({ sub: claims.sub, roles_at: claims.roles_at }),
    ]);
  });
});
