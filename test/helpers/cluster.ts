/**
 * Several latchkey processes behind a real nginx (Debian's), round-robin and no affinity,
 * rendered from deploy/nginx.conf.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type RunningServer, startServerProcess } from "./processes.js";

export const NGINX = ["/usr/sbin/nginx", "/usr/bin/nginx"].find((path) => existsSync(path)) ?? null;
const TEMPLATE = fileURLToPath(new URL("../../deploy/nginx.conf", import.meta.url));

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  return typeof address === "object" && address ? address.port : 0;
}

export interface Cluster {
  /** What browsers use: nginx. */
  origin: string;
  instances: RunningServer[];
  /** The instances' own addresses, bypassing nginx. */
  direct(i: number): string;
  /** Restarts instance `i` on its port (after a kill). */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startCluster(options: {
  instances: number;
  env: Record<string, string>;
  /** Settings of instance `i` alone (its own database address, say), over `env`. */
  envFor?: (i: number) => Record<string, string>;
}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), "latchkey-cluster-"));
  const nginxPort = await freePort();
  const origin = `http://localhost:${nginxPort}`;
  const env = { ...options.env, PUBLIC_ORIGIN: origin, TRUST_PROXY: "true" };
  const instances: RunningServer[] = [];
  const envOf = (i: number) => ({ ...env, ...options.envFor?.(i) });
  for (let i = 0; i < options.instances; i++) instances.push(await startServerProcess(envOf(i)));
  const ports = instances.map((s) => s.port);

  for (const sub of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(dir, sub), { recursive: true });
  const conf = readFileSync(TEMPLATE, "utf8")
    .replaceAll("{{PREFIX}}", dir)
    .replaceAll("{{LISTEN}}", `127.0.0.1:${nginxPort}`)
    .replaceAll("{{UPSTREAMS}}", ports.map((port) => `server 127.0.0.1:${port};`).join("\n    "));
  writeFileSync(join(dir, "nginx.conf"), conf);
  const nginx: ChildProcess = spawn(NGINX as string, ["-c", join(dir, "nginx.conf"), "-p", dir], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let nginxErrors = "";
  nginx.stderr?.on("data", (chunk) => {
    nginxErrors += chunk;
  });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await fetch(`${origin}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline || nginx.exitCode !== null) throw new Error(`nginx did not start: ${nginxErrors}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    origin,
    instances,
    direct: (i) => `http://127.0.0.1:${ports[i]}`,
    async restart(i) {
      instances[i] = await startServerProcess({ ...envOf(i), PORT: String(ports[i]) });
    },
    async stop() {
      nginx.kill("SIGTERM");
      await Promise.all(
        instances.map(async (instance, i) => {
          // An instance that does not stop on SIGTERM is a defect: say which, with its log.
          const stuck = setTimeout(
            () => console.error(`instance ${i} has not stopped 20 s after SIGTERM:\n${instance.output().slice(-4000)}`),
            20_000,
          );
          await instance.stop();
          clearTimeout(stuck);
        }),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
