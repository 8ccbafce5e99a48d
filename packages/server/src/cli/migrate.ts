/**
 * `latchkey migrate`: apply pending schema migrations (the server also does at start).
 */
import type { Command } from "commander";
import { loadConfig } from "../app/config.js";
import { migrateConfigured } from "../app/stores.js";

export function registerMigrate(program: Command): void {
  program
    .command("migrate")
    .description("apply pending database migrations")
    .action(async () => {
      const config = loadConfig(process.env);
      const applied = await migrateConfigured(config);
      process.stdout.write(applied.length === 0 ? "up to date\n" : `applied ${applied.join(", ")}\n`);
    });
}
