/**
 * `latchkey services create <name> | list | revoke <name>`: the services that trust
 * latchkey's tokens. `create` prints the client secret once; it is never stored.
 */
import type { Command } from "commander";
import { fail, isoOrEmpty, printTable, withAuth } from "./context.js";

export function registerServices(program: Command): void {
  const services = program.command("services").description("manage the services that trust latchkey's tokens");

  services
    .command("create <name>")
    .description("create a service; prints its client_id and client_secret (the secret only this once)")
    .option("--json", "print JSON")
    .action(async (name: string, options: { json?: boolean }) => {
      await withAuth(async (auth) => {
        const { service, clientSecret } = await auth.services.create(name);
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ name, client_id: service.id, client_secret: clientSecret })}\n`);
          return;
        }
        process.stdout.write(
          `created service ${name}\nclient_id: ${service.id}\nclient_secret: ${clientSecret}\n` +
            "Keep the secret now: latchkey stores only its hash and cannot show it again.\n",
        );
      });
    });

  services
    .command("list")
    .description("list every service (never its secret)")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      await withAuth(async (auth) => {
        const list = await auth.services.list();
        printTable(
          list.map((s) => ({
            name: s.name,
            client_id: s.id,
            created: isoOrEmpty(s.createdAt),
            status: s.revokedAt === null ? "active" : `revoked ${isoOrEmpty(s.revokedAt)}`,
          })),
          options.json ?? false,
        );
      });
    });

  services
    .command("revoke <name>")
    .description("revoke a service: its credentials are refused at once, everywhere")
    .action(async (name: string) => {
      await withAuth(async (auth) => {
        const revoked = (await auth.services.revoke(name)) ?? fail(`no active service named "${name}"`);
        process.stdout.write(`revoked ${revoked.name} (${revoked.id})\n`);
      });
    });
}
