/** A user's devices and security timeline, as the admin page shows them. */
import type { SecurityEvent, Session } from "../../api.js";
import { EVENT_LABELS } from "../../events.js";
import { ago, when } from "../../format.js";

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
          {props.events.map((event) => {
            const [label, tone] = EVENT_LABELS[event.type] ?? [event.type, "info"];
            return (
              <li key={event.id} class={`event ${tone}`}>
                <span class="dot" aria-hidden="true" />
                <div>
                  <strong>{label}</strong>
                  <p class="muted">
                    <time dateTime={event.at} title={when(event.at)}>
                      {ago(event.at)}
                    </time>
                    {event.ip ? ` · ${event.ip}` : ""}
                  </p>
                </div>
              </li>
            );
          })}
        </ol>
      )}
    </>
  );
}
