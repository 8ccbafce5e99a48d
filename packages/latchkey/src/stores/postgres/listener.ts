/**
 * PostgreSQL's push for the change feed: one dedicated connection that LISTENs, so a
 * publish on any instance wakes the followers of every other at once (they also poll).
 *
 * NOTIFY reaches every session of the database, whatever its schema, so the channel is the
 * schema's own: `latchkey_changes_<oid of the schema>`, the same on every instance of one
 * deployment and never another's (a deployment in another schema of the database, or a
 * second latchkey beside the first, wakes nobody here). The OID, not the name: a name of 63
 * bytes would not fit in a channel's.
 */
import pg from "pg";

/**
 * The channel of the connection's schema, as an SQL expression: what the publisher
 * notifies and the listener listens to (each asks on its own connection, which opens on
 * the same `search_path`).
 *
 * @example
 * await pool.query(`select pg_notify(${CHANNEL_SQL}, '')`);
 */
export const CHANNEL_SQL =
  "'latchkey_changes_' || (select oid from pg_namespace where nspname = current_schema())::text";

/**
 * One dedicated connection that LISTENs for change notifications, reconnecting with
 * backoff. A wake-up after a reconnect lets followers catch up on what they missed.
 *
 * @example
 * const listener = new ChangeListener(url);
 * const unsubscribe = listener.subscribe(() => void follower.poll());
 */
export class ChangeListener {
  readonly #url: string;
  readonly #wakers = new Set<() => void>();
  #client: pg.Client | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(url: string) {
    this.#url = url;
  }

  subscribe(wake: () => void): () => void {
    this.#wakers.add(wake);
    if (!this.#client && !this.#retry) void this.#connect(0);
    return () => this.#wakers.delete(wake);
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    await this.#client?.end().catch(() => {});
  }

  async #connect(attempt: number): Promise<void> {
    this.#retry = undefined;
    if (this.#closed) return;
    const client = new pg.Client({ connectionString: this.#url, connectionTimeoutMillis: 2000 });
    // Known to `close` from now on: a close while it connects must end it too, or its socket
    // keeps the process alive (a CLI command that finished before LISTEN did never exited).
    this.#client = client;
    const retry = () => {
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => {});
      if (!this.#closed && !this.#retry) {
        this.#retry = setTimeout(() => void this.#connect(attempt + 1), Math.min(2000, 100 * 2 ** attempt));
        this.#retry.unref();
      }
    };
    client.on("error", retry);
    client.on("end", retry);
    client.on("notification", () => this.#wakeAll());
    try {
      await client.connect();
      const { rows } = await client.query<{ channel: string | null }>(`select ${CHANNEL_SQL} as channel`);
      const channel = rows[0]?.channel;
      // No schema of the search_path exists yet (latchkey has not migrated): retry later.
      if (!channel) throw new Error("no schema to listen in");
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
      this.#wakeAll();
    } catch {
      retry();
    }
  }

  #wakeAll(): void {
    for (const wake of this.#wakers) wake();
  }
}
