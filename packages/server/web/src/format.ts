/** Human-readable times and durations. */

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

export function ago(iso: string, now = Date.now()): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 45) return seconds <= 0 ? "just now" : "in a few seconds";
  if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
  if (abs < 86_400) return relative.format(Math.round(seconds / 3600), "hour");
  return relative.format(Math.round(seconds / 86_400), "day");
}

export function when(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A time to the second: the time of day when it is today, else the date too. */
export function moment(iso: string, now = Date.now()): string {
  const date = new Date(iso);
  if (date.toDateString() !== new Date(now).toDateString()) return when(iso);
  return date.toLocaleTimeString(undefined, { timeStyle: "medium" });
}

export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const parts: [number, string][] = [
    [Math.floor(s / 86_400), "d"],
    [Math.floor((s % 86_400) / 3600), "h"],
    [Math.floor((s % 3600) / 60), "min"],
    [s % 60, "s"],
  ];
  const shown = parts.filter(([n]) => n > 0).slice(0, 2);
  return shown.length === 0 ? "0 s" : shown.map(([n, unit]) => `${n} ${unit}`).join(" ");
}

const BROWSERS: [RegExp, string][] = [
  [/Edg\//, "Edge"],
  [/Firefox\//, "Firefox"],
  [/Chrome\//, "Chrome"],
  [/Safari\//, "Safari"],
];
// iPhones say "like Mac OS X", Android says "Linux": the specific ones come first.
const SYSTEMS: [RegExp, string][] = [
  [/Android/, "Android"],
  [/iPhone|iPad/, "iOS"],
  [/Windows/, "Windows"],
  [/Mac OS X/, "macOS"],
  [/Linux/, "Linux"],
];

/**
 * A short "Browser on OS" from a User-Agent header, for the security log (the device list
 * gets the server's fuller description). The order matters: Edge and Chrome both say
 * "Chrome", Chrome and Safari both say "Safari".
 */
export function deviceOf(userAgent: string): string {
  const browser = BROWSERS.find(([pattern]) => pattern.test(userAgent))?.[1];
  const system = SYSTEMS.find(([pattern]) => pattern.test(userAgent))?.[1];
  if (!browser && !system) return userAgent.trim() === "" ? "unknown device" : "unknown browser";
  return `${browser ?? "unknown browser"} on ${system ?? "an unknown system"}`;
}
