/**
 * The CLI against a real SQLite file while a real server runs on it (contract section 9):
 * what the CLI changes reaches the running server within one second.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, runCli, startServerProcess, within } from "../helpers/processes.js";

const PASSWORD = "correct horse battery staple";

describe("latchkey CLI with a running server", () => {
  let dir: string;
  let env: Record<string, string>;
  let server: RunningServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-cli-"));
    env = { DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}` };
    server = await startServerProcess(env);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const http = (path: string, init: RequestInit & { cookie?: string; csrf?: string } = {}) =>
    fetch(`${server.origin}${path}`, {
      ...init,
      headers: {
        "content-type": "application/json",
        origin: server.origin,
        ...(init.cookie && { cookie: init.cookie }),
        ...(init.csrf && { "x-csrf-token": init.csrf }),
      },
    });

  const login = async (username: string, password = PASSWORD) => {
    const response = await http("/auth/login", { method: "POST", body: JSON.stringify({ username, password }) });
    if (response.status !== 200) return { status: response.status, cookie: "", csrf: "", sessionId: "" };
    const body = (await response.json()) as { csrfToken: string; session: { id: string } };
    const cookie = response.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    return { status: 200, cookie, csrf: body.csrfToken, sessionId: body.session.id };
  };

  const isRefused = (cookie: string) => async () => (await http("/auth/me", { cookie })).status === 401;

  it("users create reads the password from stdin; the server accepts the login", async () => {
    const created = await runCli(["users", "create", "Alice"], env, `${PASSWORD}\n`);
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/created alice/);
    expect(created.stdout).not.toContain(PASSWORD);
    expect((await login("alice")).status).toBe(200);
  });

  it("users create refuses a weak password and a taken name with exit code 1", async () => {
    const weak = await runCli(["users", "create", "bob"], env, "password1234\n");
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/common/);
    const taken = await runCli(["users", "create", "ALICE"], env, `${PASSWORD}\n`);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/taken/);
  });

  it("security: users create refuses a password that is not UTF-8 rather than collapse it to U+FFFD (issue 24, item 10)", async () => {
    // A lone surrogate as WTF-8 (ED A0 80): a lenient decoder makes it U+FFFD, like any other bad byte.
    const bytes = Buffer.concat([Buffer.from("correct horse "), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from("\n")]);
    const created = await runCli(["users", "create", "carol"], env, bytes);
    expect(created.code).toBe(1);
    expect(created.stderr).toMatch(/not valid UTF-8/);
    expect(created.stderr).not.toContain("correct horse");
    expect((await runCli(["users", "list", "--json"], env)).stdout).not.toContain("carol");
  });

  it("users list shows accounts, as a table or JSON", async () => {
    const table = await runCli(["users", "list"], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^USERNAME\s+ID\s+CREATED\s+STATUS/m);
    expect(table.stdout).toMatch(/^alice\s/m);
    const json = JSON.parse((await runCli(["users", "list", "--json"], env)).stdout);
    expect(json).toEqual([expect.objectContaining({ username: "alice", status: "enabled" })]);
  });

  it("sessions list shows a session made over HTTP; sessions revoke ends it within a second", async () => {
    const session = await login("alice");
    const listed = await runCli(["sessions", "list", "--user", "alice"], env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(session.sessionId);
    expect(listed.stdout).not.toContain(session.cookie.split(".")[1] as string);
    const revoked = await runCli(["sessions", "revoke", session.sessionId], env);
    expect(revoked.code).toBe(0);
    await within(1000, isRefused(session.cookie));
    const again = await runCli(["sessions", "revoke", session.sessionId], env);
    expect(again.code).toBe(1);
  });

  it("sessions revoke --user ends every session of the user within a second", async () => {
    const one = await login("alice");
    const two = await login("alice");
    const result = await runCli(["sessions", "revoke", "--user", "alice"], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ended \d+ session/);
    await within(1000, isRefused(one.cookie));
    await within(1000, isRefused(two.cookie));
  });

  it("users disable ends the user's sessions within a second; enable lets them back in", async () => {
    const session = await login("alice");
    const disabled = await runCli(["users", "disable", "alice"], env);
    expect(disabled.code).toBe(0);
    await within(1000, isRefused(session.cookie));
    const refused = await http("/auth/login", {
      method: "POST",
      body: JSON.stringify({ username: "alice", password: PASSWORD }),
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe("account_disabled");
    expect((await runCli(["users", "list"], env)).stdout).toMatch(/alice.*disabled/);
    expect((await runCli(["users", "enable", "alice"], env)).code).toBe(0);
    expect((await login("alice")).status).toBe(200);
    const events = await login("alice");
    const log = (await (await http("/auth/events", { cookie: events.cookie })).json()) as {
      events: Array<{ type: string }>;
    };
    expect(log.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(["account_disabled", "account_enabled", "session_revoked"]),
    );
  });

  it("answers exit code 1 for an unknown user and 2 for bad usage", async () => {
    const unknown = await runCli(["users", "disable", "nobody-here"], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no user named "nobody-here"/);
    expect((await runCli(["sessions", "revoke"], env)).code).toBe(2);
    expect((await runCli(["frobnicate"], env)).code).toBe(2);
    expect((await runCli(["--help"], env)).code).toBe(0);
  });

  it("migrate reports the schema up to date", async () => {
    const result = await runCli(["migrate"], env);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/up to date/);
  });
});

describe("latchkey serve", () => {
  it.each([
    ["PORT", "abc"],
    ["SESSION_IDLE_TIMEOUT", "soon"],
    ["AUTH_STRATEGY", "cookies"],
    ["DATABASE_URL", "mysql://db"],
    ["HOST", "999.1.1.1"],
  ])("a bad %s stops the start with exit code 2 and one line naming it", async (name, value) => {
    const result = await runCli(["serve"], { [name]: value });
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(name);
  });

  it("creates ./data/latchkey.db by default, serves /healthz, and on SIGTERM finishes the request in flight and exits 0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "latchkey-serve-"));
    try {
      const server = await startServerProcess({}, dir);
      expect(existsSync(join(dir, "data", "latchkey.db"))).toBe(true);
      expect(server.output()).toMatch(/"port":\d+/);
      const health = await fetch(`${server.origin}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: "ok" });

      // A registration whose body is still arriving when SIGTERM comes.
      const body = JSON.stringify({ username: "inflight", password: PASSWORD });
      const socket = connect(server.port, "127.0.0.1");
      await new Promise((resolve) => socket.once("connect", resolve));
      let response = "";
      socket.on("data", (chunk) => {
        response += chunk;
      });
      const closed = new Promise((resolve) => socket.once("close", resolve));
      socket.write(
        `POST /auth/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
          `Origin: ${server.origin}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
      );
      socket.write(body.slice(0, 10));
      await new Promise((resolve) => setTimeout(resolve, 200));
      const exit = server.stop();
      await new Promise((resolve) => setTimeout(resolve, 200));
      // The client keeps its side open (a half-closed socket is torn down by Node).
      socket.write(body.slice(10));
      await closed;
      expect(response).toMatch(/^HTTP\/1\.1 201/);
      expect(await exit).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
