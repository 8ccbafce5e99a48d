/**
 * Where a request comes from, for sessions and the event log.
 */
import type { FastifyRequest } from "fastify";
import type { ClientInfo } from "../core/session-manager.js";

/**
 * The client address (from `X-Forwarded-For` only under `TRUST_PROXY=true`, which is
 * Fastify's `trustProxy`) and the user agent.
 *
 * @example
 * const client = clientInfo(request);
 */
export function clientInfo(request: FastifyRequest): ClientInfo {
  const userAgent = request.headers["user-agent"];
  return { ip: request.ip, userAgent: typeof userAgent === "string" ? userAgent.slice(0, 512) : "" };
}
