/**
 * `latchkey factors reseal`: every authenticator app's secret sealed again under the first
 * key of `MFA_KEYS`, after a new key was put first (or `MFA_KEYS` set for the first time,
 * moving off the key the database keeps); the older key can then be dropped.
 */
import type { Command } from "commander";
import { withAuth } from "./context.js";

export function registerFactors(program: Command): void {
  const factors = program.command("factors").description("the keys that seal authenticator apps' secrets");

  factors
    .command("reseal")
    .description("seal every authenticator app's secret again under the first key of MFA_KEYS")
    .action(async () => {
      await withAuth(async (auth) => {
        const users = await auth.accounts.list();
        const changed = await auth.factors.reseal(users.map((user) => user.id));
        process.stdout.write(
          `re-sealed ${changed} secret${changed === 1 ? "" : "s"} under key ${auth.factors.currentKeyId ?? "(none)"}; every secret is now under it\n`,
        );
      });
    });
}
