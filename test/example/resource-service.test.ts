/**
 * The example resource service (examples/resource-service, through `latchkey/verify`):
 * valid tokens pass, forged ones do not, rotations are followed, and a token whose session
 * ended is refused within a second, long before its `exp`.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, runCli, startServerProcess, within } from "../helpers/processes.js";

const SERVICE = fileURLToPath(new URL("../../examples/resource-service/server.mjs", import.meta.url));
const PASSWORD = "correct horse battery staple";

async function startService(
  origin: string,
  credentials: { client_id: string; client_secret: string },
): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, [SERVICE], {
    env: {
      PATH: process.env.PATH ?? "",
      LATCHKEY_ORIGIN: origin,
      PORT: "0",
      CLIENT_ID: credentials.client_id,
      CLIENT_SECRET: credentials.client_secret,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout?.on("data", (chunk) => {
      const match = /"port":(\d+)/.exec(String(chunk));
      if (match) resolve(Number(match[1]));
    });
    proc.once("exit", () => reject(new Error("resource service exited")));
  });
  return { proc, url: `http://127.0.0.1:${port}/hello` };
}

describe("examples/resource-service", () => {
  let dir: string;
  let env: Record<string, string>;
  let latchkey: RunningServer;
  let service: { proc: ChildProcess; url: string };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-example-"));
    env = { DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}` };
    latchkey = await startServerProcess(env);
    const created = await runCli(["services", "create", "reports", "--json"], env);
    expect(created.code).toBe(0);
    service = await startService(latchkey.origin, JSON.parse(created.stdout));
    expect((await runCli(["users", "create", "dave"], env, PASSWORD)).code).toBe(0);
  });
  afterAll(async () => {
    service?.proc.kill("SIGTERM");
    await latchkey?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const token = async () => {
    const response = await fetch(`${latchkey.origin}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "dave", password: PASSWORD }),
    });
    return ((await response.json()) as { access_token: string }).access_token;
  };
  const call = (accessToken: string) => fetch(service.url, { headers: { authorization: `Bearer ${accessToken}` } });

  it("accepts a valid access token", async () => {
    const accessToken = await token();
    const response = await call(accessToken);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { hello: string; session: string };
    const claims = JSON.parse(Buffer.from(accessToken.split(".")[1] as string, "base64url").toString());
    expect(body).toEqual({ hello: claims.sub, session: claims.sid });
  });

  it("refuses forged tokens", async () => {
    const genuine = await token();
    const [header, payload] = genuine.split(".") as [string, string];
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString());
    const { privateKey } = await generateKeyPair("EdDSA");
    const kid = JSON.parse(Buffer.from(header, "base64url").toString()).kid;
    const forged = [
      `${header}.${payload}.`,
      `${Buffer.from('{"alg":"none","typ":"at+jwt"}').toString("base64url")}.${payload}.`,
      await new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", kid, typ: "at+jwt" }).sign(privateKey),
      `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: "admin" })).toString("base64url")}.${genuine.split(".")[2]}`,
      "not-a-token",
    ];
    for (const token of forged) {
      const response = await call(token);
      expect(response.status, token.slice(0, 40)).toBe(401);
    }
    expect((await fetch(service.url)).status).toBe(401);
  });

  it("still verifies after keys rotate: old tokens and new ones", async () => {
    const before = await token();
    expect((await call(before)).status).toBe(200);
    expect((await runCli(["keys", "rotate"], env)).code).toBe(0);
    const kidOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[0] as string, "base64url").toString()).kid;
    let after = "";
    await within(1500, async () => {
      after = await token();
      return kidOf(after) !== kidOf(before);
    });
    await within(3000, async () => (await call(after)).status === 200);
    expect((await call(before)).status).toBe(200);
  });

  it("refuses a token within a second of its session ending: logout, then logout-all", async () => {
    const accessToken = await token();
    expect((await call(accessToken)).status).toBe(200);
    const logout = await fetch(`${latchkey.origin}/auth/logout`, {
      method: "POST",
      headers: { authorization: `Bearer ${accessToken}`, origin: latchkey.origin },
    });
    expect(logout.status).toBe(204);
    const start = Date.now();
    await within(1000, async () => (await call(accessToken)).status === 401);
    expect(Date.now() - start).toBeLessThan(1000);

    const [first, second] = [await token(), await token()];
    await fetch(`${latchkey.origin}/auth/logout-all`, {
      method: "POST",
      headers: { authorization: `Bearer ${first}`, origin: latchkey.origin },
    });
    await within(1000, async () => (await call(first)).status === 401 && (await call(second)).status === 401);
  });
});
