/** A lifetime as a bar: how much of it has passed, and what is left, with its two ends labelled. */
import { duration } from "../format.js";

export function Bar(props: {
  label: string;
  start: number;
  end: number;
  now: number;
  startLabel: string;
  endLabel: string;
}) {
  const span = Math.max(1, props.end - props.start);
  const fraction = Math.min(1, Math.max(0, (props.now - props.start) / span));
  const left = Math.max(0, (props.end - props.now) / 1000);
  return (
    <figure class="bar">
      <figcaption>
        <strong>{props.label}</strong>
        <span class="muted"> · {duration(left)} left</span>
      </figcaption>
      <svg
        viewBox="0 0 1000 28"
        role="img"
        aria-label={`${props.label}: ${Math.round(fraction * 100)}% used, ${duration(left)} left`}
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
