/**
 * PostgreSQL's push for the change feed: one dedicated connection that LISTENs, so a
 * publish on any instance wakes the followers of every other at once (they also poll).
 */
import pg from "pg";

/**
 * One dedicated connection that LISTENs for change notifications, reconnecting with
 * backoff. A wake-up after a reconnect lets followers catch up on what they missed.
 *
 * @example
 * const listener = new ChangeListener(url, "latchkey_changes");
 * const unsubscribe = listener.subscribe(() => void follower.poll());
 */
export class ChangeListener {
  readonly #url: string;
  readonly #channel: string;
  readonly #wakers = new Set<() => void>();
  #client: pg.Client | undefined;
  #closed = false;
  #retry: NodeJS.Timeout | undefined;

  constructor(url: string, channel: string) {
    this.#url = url;
    this.#channel = channel;
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
      await client.query(`LISTEN ${this.#channel}`);
      this.#wakeAll();
    } catch {
      retry();
    }
  }

  #wakeAll(): void {
    for (const wake of this.#wakers) wake();
  }
}
