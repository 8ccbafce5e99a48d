/** The admin audit log, newest first: who did what to whom, when, from where. */
import { useEffect, useState } from "preact/hooks";
import { type AuditEvent, call, client } from "../../api.js";
import { ago, when } from "../../format.js";
import { problem } from "./problem.js";

const AUDIT_PAGE = 20;

const ACTIONS: Record<AuditEvent["action"], string> = {
  user_disabled: "Disabled",
  user_enabled: "Enabled",
  sessions_revoked: "Ended sessions",
  roles_set: "Set roles",
  user_deleted: "Deleted",
  factors_removed: "Second factors removed",
};

/** `{from, to}` of a role change, `{sessions}` of ended sessions, in words. */
function detailOf(event: AuditEvent): string {
  const detail = event.detail ?? {};
  const list = (value: unknown) => (Array.isArray(value) ? value.join(", ") : "");
  if (event.action === "roles_set") return `${list(detail.from)} → ${list(detail.to)}`;
  if (event.action === "sessions_revoked" && typeof detail.sessions === "number") {
    return `${detail.sessions} ${detail.sessions === 1 ? "session" : "sessions"}`;
  }
  return "";
}

export function AuditLog(props: { version: number }) {
  const [events, setEvents] = useState<AuditEvent[] | null>(null);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = async (cursor?: string) => {
    setError(null);
    try {
      const query = { limit: String(AUDIT_PAGE), ...(cursor !== undefined && { cursor }) };
      const page = await call(client.GET("/admin/events", { params: { query } }));
      setEvents((list) => (cursor === undefined ? page.events : [...(list ?? []), ...page.events]));
      setNext(page.nextCursor);
    } catch (e) {
      setError(problem(e));
    }
  };
  useEffect(() => {
    void load();
  }, [props.version]);

  return (
    <section class="card" aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit log</h2>
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      {events === null ? (
        <p class="muted">Loading…</p>
      ) : events.length === 0 ? (
        <p class="muted">No administrator has acted yet.</p>
      ) : (
        <table class="table audit-table">
          <caption class="sr-only">Administrators' actions, newest first</caption>
          <thead>
            <tr>
              <th scope="col" class="wide-only">
                When
              </th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">User</th>
            </tr>
          </thead>
          <tbody>
            {events.map((event) => (
              <tr key={event.id}>
                <td class="wide-only">
                  <time dateTime={event.at} title={when(event.at)}>
                    {ago(event.at)}
                  </time>
                </td>
                <td>
                  {event.actor ? event.actor.username : "CLI (operator)"}
                  {event.ip ? <span class="muted sub wide-only">from {event.ip}</span> : null}
                </td>
                <td>
                  {ACTIONS[event.action] ?? event.action}
                  {detailOf(event) ? <span class="muted sub">{detailOf(event)}</span> : null}
                  {/* On a phone the time moves here, its column hidden. */}
                  <span class="muted sub narrow-only">{ago(event.at)}</span>
                </td>
                <td>{event.target.username}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {next ? (
        <button type="button" class="secondary" onClick={() => load(next)}>
          Load more
        </button>
      ) : null}
    </section>
  );
}
