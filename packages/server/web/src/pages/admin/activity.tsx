/** A user's devices and security timeline, as the admin page shows them. */
import type { SecurityEvent, Session } from "../../api.js";
import { EventItem } from "../../components/event-item.js";
import { ago } from "../../format.js";

export function Devices(props: { sessions: Session[] }) {
  return (
    <>
      <h3>Devices ({props.sessions.length})</h3>
      {props.sessions.length === 0 ? (
        <p class="muted">Not signed in anywhere.</p>
      ) : (
        <ul class="plain" aria-label="Their devices">
          {props.sessions.map((s) => (
            <li key={s.id}>
              {s.strategy === "bearer" ? "API client" : `${s.device.browser} on ${s.device.os}`}
              <span class="muted">
                {" "}
                · {s.ip || "unknown address"} · last seen <time dateTime={s.lastSeenAt}>{ago(s.lastSeenAt)}</time>
              </span>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}

export function Timeline(props: { events: SecurityEvent[] }) {
  return (
    <>
      <h3>Timeline</h3>
      {props.events.length === 0 ? (
        <p class="muted">No events yet.</p>
      ) : (
        <ol class="timeline" aria-label="Their security events">
          {props.events.map((event) => (
            <EventItem key={event.id} event={event} />
          ))}
        </ol>
      )}
    </>
  );
}
