/**
 * One security event as a timeline row (the Security page and the admin page's user
 * detail): what happened, when, from where; for a detected session reuse, both clients.
 */
import type { SecurityEvent } from "../api.js";
import { EVENT_LABELS } from "../events.js";
import { ago, deviceOf, when } from "../format.js";

function client(ip: string, userAgent: string): string {
  return `${ip || "unknown address"}, ${deviceOf(userAgent)}`;
}

export function EventItem(props: { event: SecurityEvent }) {
  const { event } = props;
  const [label, tone] = EVENT_LABELS[event.type] ?? [event.type, "info"];
  return (
    <li class={`event ${tone}`}>
      <span class="dot" aria-hidden="true" />
      <div>
        <strong>{label}</strong>
        <p class="muted">
          <time dateTime={event.at} title={when(event.at)}>
            {ago(event.at)}
          </time>
          {event.other ? "" : event.ip ? ` · ${event.ip}` : ""}
        </p>
        {event.other ? (
          // The event's own client presented the old secret; `other` is the session's.
          <dl class="clients">
            <div>
              <dt>Old cookie presented by</dt>
              <dd>{client(event.ip, event.userAgent)}</dd>
            </div>
            <div>
              <dt>The session's own browser</dt>
              <dd>{client(event.other.ip, event.other.userAgent)}</dd>
            </div>
          </dl>
        ) : null}
      </div>
    </li>
  );
}
