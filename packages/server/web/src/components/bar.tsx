/**
 * A lifetime as a bar: how much of it has passed, and what is left, with its two ends
 * labelled. Once `now` reaches `end`, the caption says `overLabel` (say "expired") instead
 * of "0 s left": a lifetime that is over shows so at once.
 */
import { duration } from "../format.js";

export function Bar(props: {
  label: string;
  start: number;
  end: number;
  now: number;
  startLabel: string;
  endLabel: string;
  overLabel?: string;
}) {
  const span = Math.max(1, props.end - props.start);
  const fraction = Math.min(1, Math.max(0, (props.now - props.start) / span));
  const left = Math.max(0, (props.end - props.now) / 1000);
  const status = props.now >= props.end && props.overLabel ? props.overLabel : `${duration(left)} left`;
  return (
    <figure class="bar">
      <figcaption>
        <strong>{props.label}</strong>
        <span class="muted"> · {status}</span>
      </figcaption>
      <svg
        viewBox="0 0 1000 28"
        role="img"
        aria-label={`${props.label}: ${Math.round(fraction * 100)}% used, ${status}`}
        preserveAspectRatio="none"
      >
        <rect class="track" x="0" y="8" width="1000" height="12" rx="6" />
        <rect class="used" x="0" y="8" width={fraction * 1000} height="12" rx="6" />
        <line class="now" x1={fraction * 1000} x2={fraction * 1000} y1="2" y2="26" />
      </svg>
      <div class="bar-labels muted">
        <span>{props.startLabel}</span>
        <span>{props.endLabel}</span>
      </div>
    </figure>
  );
}
