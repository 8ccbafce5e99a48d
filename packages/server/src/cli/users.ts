/**
 * `latchkey users list | create <name> | disable <name> | enable <name>`.
 */
import type { Command } from "commander";
import { AuthError } from "latchkey";
import { fail, isoOrEmpty, printTable, withAuth } from "./context.js";

export function registerUsers(program: Command): void {
  const users = program.command("users").description("manage accounts");

  users
    .command("list")
    .description("list every account")
    .option("--json", "print JSON")
    .action(async (options: { json?: boolean }) => {
      await withAuth(async (auth) => {
        const list = await auth.accounts.list();
        printTable(
          list.map((u) => ({
            username: u.username,
            id: u.id,
            created: isoOrEmpty(u.createdAt),
            status: u.disabledAt === null ? "enabled" : `disabled ${isoOrEmpty(u.disabledAt)}`,
          })),
          options.json ?? false,
        );
      });
    });

  users
    .command("create <name>")
    .description("create an account; the password is read from standard input")
    .action(async (name: string) => {
      const password = await readPassword();
      await withAuth(async (auth) => {
        const user = await auth.accounts.register(name, password);
        process.stdout.write(`created ${user.username} (${user.id})\n`);
      });
    });

  users
    .command("disable <name>")
    .description("disable an account and end all its sessions at once")
    .action(async (name: string) => {
      await withAuth(async (auth) => {
        const user = (await auth.accounts.disable(name)) ?? fail(`no user named "${name}"`);
        process.stdout.write(`disabled ${user.username}; its sessions have ended\n`);
      });
    });

  users
    .command("enable <name>")
    .description("enable a disabled account")
    .action(async (name: string) => {
      await withAuth(async (auth) => {
        const user = (await auth.accounts.enable(name)) ?? fail(`no user named "${name}"`);
        process.stdout.write(`enabled ${user.username}\n`);
      });
    });
}

/**
 * The whole of standard input, less one trailing newline. Never echoed or logged. Bytes
 * that are not UTF-8 are refused, not replaced with U+FFFD (which would make different
 * inputs one password), as the HTTP body parser refuses them.
 */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write("password (end with Ctrl-D): ");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new AuthError("invalid_request", "The password on standard input is not valid UTF-8.");
  }
  return text.endsWith("\r\n") ? text.slice(0, -2) : text.endsWith("\n") ? text.slice(0, -1) : text;
}
