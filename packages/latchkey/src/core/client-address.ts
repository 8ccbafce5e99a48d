/**
 * Client addresses, canonical and grouped for throttling.
 *
 * One address has many spellings (`::ffff:192.0.2.1` is `192.0.2.1`; `2001:DB8::1`,
 * `2001:db8:0:0::1` and `2001:db8::0:1` are one address), and one IPv6 client commonly
 * owns a whole /64, so it can rotate through 2^64 addresses. Limits that count per address
 * count per canonical IPv4 address, and per /64 for IPv6. Parsing is ipaddr.js's (the
 * parser behind Fastify's and Express's proxy trust).
 */
import ipaddr from "ipaddr.js";

/**
 * The canonical spelling of an address: dotted IPv4 for IPv4 and IPv4-mapped IPv6, RFC
 * 5952 for IPv6 (lower case, zeros compressed, zone dropped). Anything unparseable is
 * returned as it is (a Unix socket's address, say).
 *
 * @example
 * canonicalAddress("::ffff:192.0.2.1"); // "192.0.2.1"
 * canonicalAddress("2001:DB8:0:0::1"); // "2001:db8::1"
 */
export function canonicalAddress(address: string): string {
  const parsed = parse(address);
  return parsed ? parsed.toString() : address;
}

/**
 * What per-address limits count: the canonical IPv4 address, or the /64 an IPv6 address
 * is in (`2001:db8:1:2::/64`).
 *
 * @example
 * throttleAddress("2001:db8:1:2:aaaa::1"); // "2001:db8:1:2::/64"
 */
export function throttleAddress(address: string): string {
  const parsed = parse(address);
  if (!parsed) return address;
  if (parsed.kind() === "ipv4") return parsed.toString();
  const prefix = ipaddr.IPv6.networkAddressFromCIDR(`${parsed.toNormalizedString()}/64`);
  return `${prefix.toRFC5952String()}/64`;
}

function parse(address: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  const bare = address.split("%", 1)[0] ?? address;
  if (!ipaddr.isValid(bare)) return null;
  // `process` turns an IPv4-mapped IPv6 address into the IPv4 address it carries; an
  // IPv6 address's `toString` is its RFC 5952 form.
  return ipaddr.process(bare);
}
