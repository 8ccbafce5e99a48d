/**
 * Where a request comes from, for sessions and the event log.
 */

import { canonicalAddress } from "../core/client-address.js";
import type { ClientInfo } from "../core/ports.js";
import type { AuthRequest } from "./kit.js";

/**
 * The client address, canonical (`::ffff:192.0.2.1` is `192.0.2.1`; IPv6 in RFC 5952 form),
 * and the user agent. The address comes from `X-Forwarded-For` only as far as the proxies
 * Fastify's `trustProxy` believes (`TRUST_PROXY`: a hop count or proxy addresses).
 *
 * @example
 * const client = clientInfo(request);
 */
export function clientInfo(request: Pick<AuthRequest, "headers" | "ip">): ClientInfo {
  const userAgent = request.headers["user-agent"];
  return { ip: canonicalAddress(request.ip), userAgent: typeof userAgent === "string" ? userAgent.slice(0, 512) : "" };
}
