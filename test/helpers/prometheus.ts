/** Reading Prometheus' text format in tests. */

/**
 * The value of one sample line (`name{labels} value`), or 0 when it is absent.
 * @example
 * sample(text, "latchkey_sessions_created_total", { kind: "jwt" });
 */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([key, value]) => line.includes(`${key}="${value}"`))) {
      return Number(line.slice(line.lastIndexOf(" ") + 1));
    }
  }
  return 0;
}
