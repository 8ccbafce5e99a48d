/**
 * Stopping `latchkey serve` with keep-alive clients (issue 25, item 16): SIGTERM finishes
 * the requests in flight, and the process exits once they are done, not once their idle
 * keep-alive connections time out (72 s by default).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { type AddressInfo, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectionDrain } from "../../packages/server/src/app/drain.js";
import { startServerProcess } from "../helpers/processes.js";

const CREDENTIALS = JSON.stringify({ username: "alice", password: "correct horse battery staple" });

interface Answer {
  status: number | undefined;
  connection: string | undefined;
  /** When the last byte of the answer arrived (performance.now()). */
  endedAt: number;
}

/**
 * Sends a JSON POST over `agent`; with `rest`, the body's first bytes go at once and the
 * others once `rest` resolves, so the request is in flight until then.
 */
function post(agent: Agent, url: string, body: string, rest?: Promise<void>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const { origin } = new URL(url);
    const headers = { "content-type": "application/json", "content-length": Buffer.byteLength(body), origin };
    const req = request(url, { method: "POST", agent, headers }, (res) => {
      res.resume();
      res.once("end", () =>
        resolve({ status: res.statusCode, connection: res.headers.connection, endedAt: performance.now() }),
      );
    });
    req.once("error", reject);
    if (!rest) return void req.end(body);
    req.write(body.slice(0, 10));
    void rest.then(() => req.end(body.slice(10)));
  });
}

describe("latchkey serve on SIGTERM", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-shutdown-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("issue 25, item 16: a keep-alive request in flight completes with 200, and the process exits within 3 s of its answer", async () => {
    const server = await startServerProcess({ DATABASE_URL: `sqlite:${join(dir, "latchkey.db")}` });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const exited = new Promise<number>((resolve) => server.proc.once("exit", () => resolve(performance.now())));
    try {
      // The connection the login reuses has served a request already: a keep-alive one.
      expect((await post(agent, `${server.origin}/auth/register`, CREDENTIALS)).status).toBe(201);
      let sendRest = () => {};
      const rest = new Promise<void>((resolve) => {
        sendRest = resolve;
      });
      // A login (argon2 hashing) whose body is still arriving when SIGTERM comes.
      const login = post(agent, `${server.origin}/auth/login`, CREDENTIALS, rest);
      await new Promise((resolve) => setTimeout(resolve, 200));
      server.proc.kill("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 200));
      sendRest();
      const answer = await login;
      expect(answer.status).toBe(200);
      const exitedAt = await Promise.race([exited, new Promise<number>((resolve) => setTimeout(resolve, 3_000, NaN))]);
      expect(exitedAt - answer.endedAt, "the process exits within 3 s of the last answer").toBeLessThan(3_000);
      expect(server.proc.exitCode).toBe(0);
      // The client is told not to reuse the connection.
      expect(answer.connection).toBe("close");
    } finally {
      agent.destroy();
      if (server.proc.exitCode === null) server.proc.kill("SIGKILL");
    }
  });
});

describe("latchkey serve on SIGTERM with SHUTDOWN_DELAY (issue 34)", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-drain-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const status = async (url: string) => (await fetch(url)).status;

  it("answers /readyz 503 draining at once, goes on serving for the delay, then exits 0", async () => {
    const server = await startServerProcess({
      DATABASE_URL: `sqlite:${join(dir, "delay.db")}`,
      SHUTDOWN_DELAY: "2",
    });
    const exited = new Promise<number>((resolve) => server.proc.once("exit", () => resolve(performance.now())));
    try {
      expect(await status(`${server.origin}/readyz`)).toBe(200);
      const signalledAt = performance.now();
      server.proc.kill("SIGTERM");
      await new Promise((resolve) => setTimeout(resolve, 300));
      const readiness = await fetch(`${server.origin}/readyz`);
      expect(readiness.status).toBe(503);
      expect(await readiness.json()).toEqual({ status: "not_ready", reasons: ["draining"] });
      // Still serving what it is sent: liveness, and the API.
      expect(await status(`${server.origin}/healthz`)).toBe(200);
      expect(await status(`${server.origin}/auth/info`)).toBe(200);
      const exitedAt = await Promise.race([exited, new Promise<number>((resolve) => setTimeout(resolve, 10_000, NaN))]);
      expect(exitedAt - signalledAt, "it waits out the delay").toBeGreaterThanOrEqual(2_000);
      expect(server.proc.exitCode).toBe(0);
    } finally {
      if (server.proc.exitCode === null) server.proc.kill("SIGKILL");
    }
  });

  it("a second signal during the delay closes at once; a repeat within a second (npm's, a terminal's) is ignored", async () => {
    const server = await startServerProcess({
      DATABASE_URL: `sqlite:${join(dir, "twice.db")}`,
      SHUTDOWN_DELAY: "600",
    });
    const exited = new Promise<number>((resolve) => server.proc.once("exit", () => resolve(performance.now())));
    try {
      server.proc.kill("SIGTERM");
      server.proc.kill("SIGTERM"); // the same stop, delivered twice
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await status(`${server.origin}/readyz`)).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 900));
      expect(server.proc.exitCode, "still draining after the repeated signal").toBeNull();
      expect(await status(`${server.origin}/readyz`)).toBe(503);
      const secondAt = performance.now();
      server.proc.kill("SIGINT");
      const exitedAt = await Promise.race([exited, new Promise<number>((resolve) => setTimeout(resolve, 10_000, NaN))]);
      expect(exitedAt - secondAt, "it closes within 5 s of the second signal").toBeLessThan(5_000);
      expect(server.proc.exitCode).toBe(0);
    } finally {
      if (server.proc.exitCode === null) server.proc.kill("SIGKILL");
    }
  });
});

describe("connectionDrain", () => {
  it("issue 25, item 16: a connection whose answer began before closing is closed as soon as the answer ends", async () => {
    const drain = connectionDrain();
    let endAnswer = () => {};
    const server = createServer({ ServerResponse: drain.ServerResponse }, (_req, res) => {
      // Headers and a first chunk now (a file being sent), the end later.
      res.writeHead(200, { "content-type": "text/plain" });
      res.write("first ");
      endAnswer = () => res.end("last");
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const agent = new Agent({ keepAlive: true });
    try {
      const { port } = server.address() as AddressInfo;
      const answer = new Promise<{ connection: string | undefined; endedAt: number }>((resolve, reject) => {
        const req = request({ port, host: "127.0.0.1", agent }, (res) => {
          res.once("data", () => {
            drain.start(server);
            server.close();
            endAnswer();
          });
          res.resume();
          res.once("end", () => resolve({ connection: res.headers.connection, endedAt: performance.now() }));
        });
        req.once("error", reject);
        req.end();
      });
      const closed = new Promise<number>((resolve) => server.once("close", () => resolve(performance.now())));
      const { connection, endedAt } = await answer;
      // Its headers left before closing began: they still said keep-alive.
      expect(connection).toBe("keep-alive");
      const closedAt = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(resolve, 2_000, NaN))]);
      expect(closedAt - endedAt, "the server closes within 2 s of the last answer").toBeLessThan(2_000);
    } finally {
      agent.destroy();
      server.closeAllConnections();
    }
  });

  it("closes a connection that never sent a request (a browser's pre-connect) when closing starts", async () => {
    const drain = connectionDrain();
    const server = createServer({ ServerResponse: drain.ServerResponse }, (_req, res) => res.end("ok"));
    drain.watch(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const quiet = connect(port, "127.0.0.1");
    try {
      await new Promise<void>((resolve) => quiet.once("connect", () => resolve()));
      // Let the server accept it before closing starts.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const startedAt = performance.now();
      drain.start(server);
      const closed = new Promise<number>((resolve) => server.close(() => resolve(performance.now())));
      const closedAt = await Promise.race([closed, new Promise<number>((resolve) => setTimeout(resolve, 2_000, NaN))]);
      expect(closedAt - startedAt, "the server closes within 2 s, not at the idle timeout").toBeLessThan(2_000);
    } finally {
      quiet.destroy();
      server.closeAllConnections();
    }
  });
});
