/**
 * `latchkey sessions list [--user <name>] | revoke <id> | revoke --user <name>`.
 */
import type { Command } from "commander";
import { CommanderError } from "commander";
import { fail, isoOrEmpty, printTable, withAuth } from "./context.js";

export function registerSessions(program: Command): void {
  const sessions = program.command("sessions").description("list and end sessions");

  sessions
    .command("list")
    .description("list live sessions, newest first")
    .option("--user <name>", "only this user's")
    .option("--json", "print JSON")
    .action(async (options: { user?: string; json?: boolean }) => {
      await withAuth(async (auth) => {
        const users = new Map((await auth.accounts.list()).map((u) => [u.id, u.username]));
        let userId: string | undefined;
        if (options.user !== undefined) {
          const user = (await auth.accounts.findByName(options.user)) ?? fail(`no user named "${options.user}"`);
          userId = user.id;
        }
        const live = await auth.sessions.listLive(userId);
        printTable(
          live.map((s) => ({
            id: s.id,
            user: users.get(s.userId) ?? s.userId,
            strategy: s.kind,
            created: isoOrEmpty(s.createdAt),
            lastSeen: isoOrEmpty(s.lastSeenAt),
            expires: isoOrEmpty(Math.min(s.idleExpiresAt, s.expiresAt)),
            ip: s.ip,
          })),
          options.json ?? false,
        );
      });
    });

  sessions
    .command("revoke [id]")
    .description("end one session by id, or every session of --user")
    .option("--user <name>", "end every session of this user")
    .action(async (id: string | undefined, options: { user?: string }) => {
      if ((id === undefined) === (options.user === undefined)) {
        process.stderr.write("latchkey: give either a session id or --user <name>\n");
        throw new CommanderError(2, "latchkey.usage", "session id or --user required");
      }
      await withAuth(async (auth) => {
        if (options.user !== undefined) {
          const user = (await auth.accounts.findByName(options.user)) ?? fail(`no user named "${options.user}"`);
          const ended = await auth.sessions.endAllRecorded(user.id, undefined);
          process.stdout.write(`ended ${ended.length} session(s) of ${user.username}\n`);
          return;
        }
        const ended =
          (await auth.sessions.endRecorded(id as string, "session_revoked")) ?? fail(`no live session with id "${id}"`);
        process.stdout.write(`ended session ${ended.id}\n`);
      });
    });
}
