/** Small inline SVG icons (no icon font, no emoji: they render the same everywhere). */

const common = {
  width: 28,
  height: 28,
  viewBox: "0 0 24 24",
  fill: "none",
  stroke: "currentColor",
  "stroke-width": 1.8,
  "stroke-linecap": "round",
  "stroke-linejoin": "round",
  "aria-hidden": true,
} as const;

export function DeviceIcon(props: { kind: string }) {
  if (props.kind === "bearer") {
    return (
      <svg {...common} aria-hidden="true">
        <circle cx="8" cy="15" r="4" />
        <path d="M11 12l9-9M17 6l3 3M15 8l2 2" />
      </svg>
    );
  }
  if (props.kind === "mobile" || props.kind === "tablet") {
    return (
      <svg {...common} aria-hidden="true">
        <rect x="6" y="2" width="12" height="20" rx="2.5" />
        <path d="M11 18h2" />
      </svg>
    );
  }
  return (
    <svg {...common} aria-hidden="true">
      <rect x="3" y="4" width="18" height="12" rx="2" />
      <path d="M8 20h8M12 16v4" />
    </svg>
  );
}
