/**
 * `latchkey keys list | rotate`: the access-token signing keys.
 */
import type { Command } from "commander";
import { isoOrEmpty, printTable, withAuth } from "./context.js";

export function registerKeys(program: Command): void {
  const keys = program.command("keys").description("list and rotate the access-token signing keys");

  keys
    .command("list")
    .description("list the signing keys, newest last")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      await withAuth(async (auth) => {
        if (auth.keys.alg === "HS256") {
          process.stdout.write("HS256: the key is JWT_SECRET; nothing is stored and the JWKS is empty\n");
          return;
        }
        printTable(
          auth.keys.summaries().map((k) => ({
            kid: k.kid,
            alg: k.alg,
            created: isoOrEmpty(k.createdAt),
            retired: isoOrEmpty(k.retiredAt),
            state: k.signing ? "signing" : k.verifying ? "verifying" : "expired",
          })),
          options.json ?? false,
        );
      });
    });

  keys
    .command("rotate")
    .description("add a new signing key; the old one verifies until its last token expires")
    .action(async () => {
      await withAuth(async (auth) => {
        const kid = await auth.keys.rotate();
        process.stdout.write(`new signing key ${kid}; running servers switch to it within a second\n`);
      });
    });
}
