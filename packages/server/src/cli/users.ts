/**
 * `latchkey users list [--role <role>] | create <name> [--email <address>] | reset-link <name> |
 * disable <name> | enable <name> | role <name> <role...> | remove-factors <name>`.
 */
import type { Command } from "commander";
import { type AdminContext, type Auth, AuthError, maskEmail, type UserRecord } from "latchkey";
import { fail, isoOrEmpty, printTable, withAuth } from "./context.js";

/** The CLI in the audit log: an operator on the machine, no signed-in admin. */
const CLI: AdminContext = { actor: null, ip: "", userAgent: "latchkey-cli" };

export function registerUsers(program: Command): void {
  const users = program.command("users").description("manage accounts");

  users
    .command("list")
    .description("list every account, with its roles")
    .option("--role <role>", "only the accounts with this role")
    .option("--json", "print JSON")
    .action(async (options: { role?: string; json?: boolean }) => {
      await withAuth(async (auth) => {
        // An unknown role is an error naming the declared ones, not an empty list.
        const role = options.role === undefined ? undefined : auth.roles.parse([options.role])[0];
        const list = (await auth.accounts.list()).filter((u) => role === undefined || u.roles.includes(role));
        printTable(
          list.map((u) => ({
            username: u.username,
            id: u.id,
            created: isoOrEmpty(u.createdAt),
            status: u.disabledAt === null ? "enabled" : `disabled ${isoOrEmpty(u.disabledAt)}`,
            roles: u.roles,
            // JSON only: the table keeps its columns (scripts read them).
            ...(options.json && { email: u.email, emailVerified: u.email !== null && u.emailVerifiedAt !== null }),
          })),
          options.json ?? false,
        );
      });
    });

  users
    .command("create <name>")
    .description("create an account; the password is read from standard input")
    .option("--email <address>", "its email address: stored unverified, and mailed a link that verifies it")
    .action(async (name: string, options: { email?: string }) => {
      const password = await readPassword();
      await withAuth(async (auth) => {
        const user = await auth.accounts.register(name, password, undefined, { email: options.email });
        process.stdout.write(`created ${user.username} (${user.id})\n`);
        if (user.email !== null) {
          // The queue sends it before the command exits (auth.close() waits for sends in progress).
          process.stdout.write(
            `${maskEmail(user.email)} is not verified yet: a verification link is being mailed to it.\n`,
          );
        }
      });
    });

  users
    .command("reset-link <name>")
    .description(
      "mail a password reset link to the account's email address (it works once, for RESET_LINK_TTL seconds)",
    )
    .action(async (name: string) => {
      await withAuth(async (auth, config) => {
        const user = (await auth.accounts.findByName(name)) ?? fail(`no user named "${name}"`);
        const email = await sendResetLink(auth, user);
        process.stdout.write(`Sent a password reset link to ${maskEmail(email)}.\n`);
        if (!config.smtpUrl) process.stdout.write(`(No SMTP_URL: the message is a file in ${config.mailOutbox}.)\n`);
      });
    });

  users
    .command("disable <name>")
    .description("disable an account and end all its sessions at once (never the last enabled admin)")
    .action(async (name: string) => {
      await withAuth(async (auth) => {
        // Through the admin core: in the user's security log and the audit log (no actor: an operator).
        const found = (await auth.accounts.findByName(name)) ?? fail(`no user named "${name}"`);
        const user = await auth.admin.disable(found.id, CLI);
        process.stdout.write(`disabled ${user.username}; its sessions have ended\n`);
      });
    });

  users
    .command("enable <name>")
    .description("enable a disabled account")
    .action(async (name: string) => {
      await withAuth(async (auth) => {
        const found = (await auth.accounts.findByName(name)) ?? fail(`no user named "${name}"`);
        const user = await auth.admin.enable(found.id, CLI);
        process.stdout.write(`enabled ${user.username}\n`);
      });
    });

  users
    .command("remove-factors <name>")
    .description(
      "remove an account's second factors (authenticator app, passkeys) and recovery codes (its owner lost them all: make sure who is asking first); its password alone signs in again",
    )
    .action(async (name: string) => {
      await withAuth(async (auth) => {
        const user = (await auth.accounts.findByName(name)) ?? fail(`no user named "${name}"`);
        const removed = await auth.admin.removeFactors(user.id, CLI);
        process.stdout.write(
          removed > 0
            ? `removed ${user.username}'s second factors and recovery codes; the password alone signs in now\n`
            : `${user.username} has no second factor\n`,
        );
      });
    });

  users
    .command("role <name> <roles...>")
    .description("set an account's roles (all of them: `user` for none); its tokens with the old roles are refused")
    .action(async (name: string, roles: string[]) => {
      await withAuth(async (auth) => {
        const user = (await auth.accounts.findByName(name)) ?? fail(`no user named "${name}"`);
        // Audited, and published as roles_changed: every instance and service hears of it.
        const changed = await auth.admin.setRoles(user.id, roles, CLI);
        process.stdout.write(`${changed.username} now has the roles: ${changed.roles.join(", ")}\n`);
      });
    });
}

/**
 * Mails the link now and waits for the mail server's answer: a failed send is the
 * command's failure (exit 1), its reason the transport's message, which never holds the link.
 */
async function sendResetLink(auth: Auth, user: UserRecord): Promise<string> {
  if (user.email === null) fail(`${user.username} has no email address: set one first (the web app's account page)`);
  try {
    return await auth.email.sendResetLink(user);
  } catch (error) {
    if (error instanceof AuthError) throw error;
    const reason = (error instanceof Error ? error.message : String(error)).slice(0, 300);
    throw new AuthError(
      "service_unavailable",
      `The reset link could not be sent to ${maskEmail(user.email)}: ${reason}`,
    );
  }
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
