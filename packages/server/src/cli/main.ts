/**
 * `latchkey serve | migrate | users | sessions | services | keys`: thin commands over the core, on the same
 * `DATABASE_URL` as the server. What they change reaches running servers within a second
 * through the store (and its change feed).
 *
 * Exit codes: 0 done, 1 the command failed (no such user, store unreachable),
 * 2 bad configuration or usage.
 */
import { Command, CommanderError } from "commander";
import { AuthError } from "latchkey";
import { ConfigError } from "../app/config.js";
import { registerFactors } from "./factors.js";
import { registerKeys } from "./keys.js";
import { registerMigrate } from "./migrate.js";
import { registerServe } from "./serve.js";
import { registerServices } from "./services.js";
import { registerSessions } from "./sessions.js";
import { registerUsers } from "./users.js";

const program = new Command()
  .name("latchkey")
  .description("latchkey authentication server and its administration commands")
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });

registerServe(program);
registerMigrate(program);
registerUsers(program);
registerSessions(program);
registerServices(program);
registerKeys(program);
registerFactors(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeFor(error);
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // --help and --version "fail" with exit code 0.
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`latchkey: invalid configuration: ${error.message}\n`);
    return 2;
  }
  if (error instanceof AuthError) {
    process.stderr.write(`latchkey: ${error.message}\n`);
    return 1;
  }
  process.stderr.write(`latchkey: ${error instanceof Error ? error.message : String(error)}\n`);
  return 1;
}
