/**
 * What every administration command shares: the configuration, the stores, the core.
 */

import type { SigningAlgorithm, Stores } from "latchkey";
import { type Auth, AuthError, createAuth } from "latchkey";
import pino from "pino";
import { authOptionsFrom, factorKeyFallback } from "../app/auth-options.js";
import { type Config, loadConfig } from "../app/config.js";
import { loggerOptions } from "../app/logging.js";
import { configuredTransport } from "../app/mail.js";
import { openConfiguredStores } from "../app/stores.js";

/**
 * Runs `action` with the core over the configured stores, then closes them.
 *
 * @example
 * await withAuth(async (auth) => console.log(await auth.accounts.list()));
 */
export async function withAuth<T>(action: (auth: Auth, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env);
  // The CLI's own output is for people; a store's connection errors go to stderr as JSON.
  const log = pino(loggerOptions(config.logLevel), pino.destination(2));
  const stores = await openConfiguredStores(config, log);
  // The commands mail too (`users reset-link`, `users create --email`), as the servers do;
  // their output says what was sent, so only the mail's failures are logged.
  const mailLog = log.child({}, { level: quieter(config.logLevel, "warn") });
  const transport = configuredTransport(config, mailLog);
  // Commands never sign, so they never create or retire a key by merely starting; without
  // JWT_ALG they take the algorithm the deployment's newest key has, so `keys rotate` and
  // `keys list` speak of the servers' keys.
  const factorKey = await factorKeyFallback(stores);
  const options = authOptionsFrom(config, stores, { mail: { transport, log: mailLog }, factorKey });
  const algorithm = process.env.JWT_ALG?.trim() ? config.jwtAlg : await deploymentAlgorithm(stores, config.jwtAlg);
  const auth = await createAuth({ ...options, tokens: { ...options.tokens, alg: algorithm }, createKeys: false });
  try {
    return await action(auth, config);
  } finally {
    // The mail queue finishes the sends in progress before the SMTP pool closes.
    await auth.close();
    await transport.close();
    await stores.close();
  }
}

/** The less verbose of two pino levels. */
function quieter(level: string, floor: string): string {
  const rank = (name: string) => (name === "silent" ? Number.POSITIVE_INFINITY : (pino.levels.values[name] ?? 0));
  return rank(level) > rank(floor) ? level : floor;
}

/** The algorithm of the newest live signing key in the store, or `fallback` when there is none. */
async function deploymentAlgorithm(stores: Stores, fallback: SigningAlgorithm): Promise<SigningAlgorithm> {
  const live = (await stores.keys.list()).filter((k) => k.retiredAt === null);
  return live.at(-1)?.alg ?? fallback;
}

/** Fails the command with exit code 1 and a message. */
export function fail(message: string): never {
  throw new AuthError("not_found", message);
}

/**
 * Prints rows as aligned columns (a list as `a,b`), or as JSON with `--json`.
 *
 * @example
 * printTable([{ username: "alice", status: "enabled", roles: ["admin", "user"] }], false);
 */
export function printTable(rows: Record<string, Cell>[], json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    process.stdout.write("(none)\n");
    return;
  }
  printColumns(rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, cellText(v)]))));
}

/** A value of a printed row: a list prints as `a,b`, `null` as nothing, a boolean as yes or no. */
export type Cell = string | readonly string[] | boolean | null;

function cellText(value: Cell): string {
  if (value === null) return "";
  if (typeof value === "boolean") return value ? "yes" : "no";
  return [value].flat().join(",");
}

function printColumns(rows: Record<string, string>[]): void {
  const columns = Object.keys(rows[0] as Record<string, string>);
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    `${cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd()}\n`;
  process.stdout.write(line(columns.map((c) => c.toUpperCase())));
  for (const row of rows) process.stdout.write(line(columns.map((c) => row[c] ?? "")));
}

/** ISO time, or "" for null. */
export const isoOrEmpty = (ms: number | null) => (ms === null ? "" : new Date(ms).toISOString());
