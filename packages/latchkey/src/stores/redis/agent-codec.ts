/**
 * A static-dictionary packing of User-Agent strings for the Redis session encoding. The
 * agent is the largest field of a session (about 110 of its 250 bytes), and the agents of
 * real browsers are made of a few dozen recurring pieces. Each piece becomes one control
 * character, which an HTTP header value can never hold (RFC 9110 §5.5), so the mapping is
 * exact both ways. An agent that does contain a control character is stored verbatim
 * behind a NUL marker.
 *
 * @example
 * unpackAgent(packAgent(ua)) === ua; // always
 */

// Longest first, so a piece never swallows part of a longer one.
const PIECES = [
  ") AppleWebKit/537.36 (KHTML, like Gecko) ",
  ") AppleWebKit/605.1.15 (KHTML, like Gecko) ",
  "Macintosh; Intel Mac OS X 10_15_7",
  "Windows NT 10.0; Win64; x64",
  "iPhone; CPU iPhone OS ",
  " Mobile Safari/537.36",
  " Safari/537.36",
  " like Mac OS X",
  "X11; Linux x86_64",
  "Gecko/20100101 ",
  "Mozilla/5.0 (",
  " Mobile/15E148",
  "Linux; Android ",
  "Version/",
  "Firefox/",
  "Chrome/",
  "Safari/",
  "Edg/",
  ".0.0.0",
  "; rv:",
  "; K",
];
// One control character per piece, skipping TAB, LF and CR; and the pattern that finds them.
const FREE = [...Array(31).keys()].map((i) => i + 1).filter((c) => c !== 9 && c !== 10 && c !== 13);
const CODES = PIECES.map((_, i) => String.fromCharCode(FREE[i] as number));
const CODE = new RegExp(`[${CODES.join("")}]`, "g");
// biome-ignore lint/suspicious/noControlCharactersInRegex: a header value holds none; the codes rely on it
const CONTROL = /[\x00-\x1f]/;
const byCode = new Map(CODES.map((code, i) => [code, PIECES[i] as string]));

/** The packed form of a User-Agent. */
export function packAgent(agent: string): string {
  if (CONTROL.test(agent)) return `\x00${agent}`;
  let packed = agent;
  for (let i = 0; i < PIECES.length; i++) packed = packed.replaceAll(PIECES[i] as string, CODES[i] as string);
  return packed;
}

/** The User-Agent a packed form stands for. */
export function unpackAgent(packed: string): string {
  if (packed.startsWith("\x00")) return packed.slice(1);
  return packed.replace(CODE, (code) => byCode.get(code) ?? code);
}
