/**
 * One security event as a timeline row (the Security page and the admin page's user
 * detail): what happened, when, from which device and address ("Chrome on Linux ·
 * 203.0.113.5"); for a detected session reuse, both clients.
 */
import type { SecurityEvent } from "../api.js";
import { EVENT_LABELS, eventDetail } from "../events.js";
import { ago, deviceOf, when } from "../format.js";

/** "Chrome on Linux · 203.0.113.5": the device first (what a person recognises), then the address. */
export function clientOf(ip: string, userAgent: string): string {
  return `${deviceOf(userAgent)} · ${ip || "unknown address"}`;
}

export function EventItem(props: { event: SecurityEvent }) {
  const { event } = props;
  const [label, tone] = EVENT_LABELS[event.type] ?? [event.type, "info"];
  const detail = eventDetail(event);
  return (
    <li class={`event ${tone}`}>
      <span class="dot" aria-hidden="true" />
      <div>
        <strong>{label}</strong>
        {detail ? <span class="event-detail"> · {detail}</span> : null}
        <p class="muted">
          <time dateTime={event.at} title={when(event.at)}>
            {ago(event.at)}
          </time>
          {event.other ? null : <span class="event-client"> · {clientOf(event.ip, event.userAgent)}</span>}
        </p>
        {event.other ? (
          // The event's own client presented the old secret; `other` is the session's.
          <dl class="clients">
            <div>
              <dt>Old cookie presented by</dt>
              <dd>{clientOf(event.ip, event.userAgent)}</dd>
            </div>
            <div>
              <dt>The session's own browser</dt>
              <dd>{clientOf(event.other.ip, event.other.userAgent)}</dd>
            </div>
          </dl>
        ) : null}
      </div>
    </li>
  );
}
