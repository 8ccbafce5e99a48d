/**
 * The live log of the app's own auth traffic (traffic.ts): each request the latchkey client
 * sent from this tab, with what it means: a 401, a refresh and the retry after it, a new
 * access token, a rotated refresh token, hybrid's renewal on the same response.
 */
import { useEffect, useState } from "preact/hooks";
import type { Policy } from "../../api.js";
import { moment } from "../../format.js";
import { onTraffic, type TrafficEntry, trafficLog } from "../../traffic.js";
import type { CookieCatalog } from "./live.js";

/** How many requests the card shows, newest first. */
const SHOWN = 25;

/**
 * What a request meant, in words: from its path, status, the cookies its answer set and
 * the requests just before it.
 */
export function meaningOf(
  entry: TrafficEntry,
  before: readonly TrafficEntry[],
  roles: ReadonlyMap<string, string>,
  strategy: Policy["strategy"],
): string[] {
  const notes: string[] = [];
  const set = (role: string) => entry.cookies.some((c) => roles.get(c.name) === role && !c.cleared);
  const previous = before.at(-1);
  const twoBack = before.at(-2);
  if (entry.status === 0) notes.push("no answer: the server could not be reached");
  if (entry.status === 401) {
    notes.push(
      entry.path === "/auth/refresh"
        ? "refused: the session has ended, so you are signed out"
        : "refused: no valid credential (an expired access token, or a session that has ended)",
    );
  }
  if (entry.status === 403) notes.push("refused: the request lacked the CSRF header, or came from another site");
  if (entry.status === 429) notes.push("refused: too many attempts; the server says when to try again");
  if (
    previous?.path === "/auth/refresh" &&
    previous.status === 200 &&
    twoBack?.status === 401 &&
    twoBack.method === entry.method &&
    twoBack.path === entry.path
  ) {
    notes.push("the same request again, after the refresh");
  }
  const signIn = entry.path === "/auth/login" && entry.status === 200;
  if (signIn) notes.push("signed in: the server set your cookies");
  if (entry.path === "/auth/refresh" && entry.status === 200) {
    notes.push("refresh: a new access token");
    if (set("refresh"))
      notes.push("refresh token rotated: the one just sent is spent, and sending it again ends the session");
  } else if (set("access") && !signIn) {
    notes.push(
      strategy === "hybrid"
        ? "renewed on the same response: the access token had expired, so the server read the session once and attached a new one"
        : "a new access token",
    );
  }
  if (set("session") && !signIn) notes.push("the session's secret renewed: a new session cookie");
  if (entry.cookies.some((c) => c.cleared)) notes.push("cookies cleared: signed out in this browser");
  return notes;
}

export function TrafficCard(props: { catalog: CookieCatalog | null; policy: Policy }) {
  const [entries, setEntries] = useState<readonly TrafficEntry[]>([...trafficLog()]);
  useEffect(() => onTraffic(() => setEntries([...trafficLog()])), []);
  const roles = new Map((props.catalog?.cookies ?? []).map((cookie) => [cookie.name, cookie.role as string]));
  const shown = entries.slice(-SHOWN).reverse();
  const last = entries.at(-1);
  return (
    <section class="card" aria-labelledby="traffic-heading">
      <h2 id="traffic-heading">The app's requests, live</h2>
      <p>
        Every request this tab's app has sent to the server since it loaded, newest first: each refresh, each retry,
        each cookie the answer set (by name: your browser never lets a script see the <code>Set-Cookie</code> header, so
        the server names them in <code>Latchkey-Set-Cookie-Names</code>). Use the app in this tab (add a to-do, come
        back) and watch.{" "}
        {props.policy.strategy === "jwt"
          ? "Before your access token expires, the app spends the refresh token for a new pair."
          : props.policy.strategy === "hybrid"
            ? "After your access token expires, the next request brings a new one on its own answer."
            : "Each request is checked against your session; now and then its answer renews the session's secret."}{" "}
        The log is kept in this tab's memory only.
      </p>
      <p class="sr-only" aria-live="polite">
        {last ? `Latest: ${last.method} ${last.path}, ${last.status}` : ""}
      </p>
      {shown.length === 0 ? (
        <p class="muted">No requests yet.</p>
      ) : (
        <ol class="traffic" reversed>
          {shown.map((entry) => {
            const index = entries.indexOf(entry);
            const notes = meaningOf(entry, entries.slice(0, index), roles, props.policy.strategy);
            return (
              <li key={entry.id} class={entry.status >= 400 || entry.status === 0 ? "refused" : undefined}>
                <div class="request">
                  <time dateTime={new Date(entry.at).toISOString()}>{moment(new Date(entry.at).toISOString())}</time>{" "}
                  <code>
                    {entry.method} {entry.path}
                  </code>{" "}
                  <strong class="status">{entry.status || "failed"}</strong>
                </div>
                {entry.cookies.length > 0 ? (
                  <div class="set-cookies muted">
                    set: {entry.cookies.map((c) => (c.cleared ? `${c.name} (cleared)` : c.name)).join(", ")}
                  </div>
                ) : null}
                {notes.map((note) => (
                  <div key={note} class="note">
                    {note}
                  </div>
                ))}
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
