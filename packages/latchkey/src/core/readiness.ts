/**
 * Whether this process can serve, for a balancer's readiness check (the server's
 * `GET /readyz`): its stores answer, and it follows the change feed closely enough to
 * vouch for the access tokens it verifies. Liveness (is the process alive at all) is
 * another question, asked of `GET /healthz`.
 */
import type { ChangeFollower } from "./change-follower.js";
import type { Stores } from "./ports.js";

/**
 * Why a process is not ready: a store does not answer (`store_unreachable`), or it has
 * not read the change feed within the follower's tolerance (`feed_behind`: 5 s). The
 * server adds `draining`, from the SIGTERM that stops it until it closes.
 * @example
 * const { reasons } = await auth.readiness();
 * const storeDown = reasons.includes("store_unreachable" satisfies NotReadyReason);
 */
export type NotReadyReason = "store_unreachable" | "feed_behind";

/**
 * @example
 * const { ready, reasons } = await auth.readiness(); // { ready: false, reasons: ["store_unreachable"] }
 */
export interface Readiness {
  ready: boolean;
  /** Empty when ready. */
  reasons: NotReadyReason[];
}

/** How long the stores have to answer a readiness check, ms. */
const PING_BUDGET_MS = 1000;

/**
 * @example
 * const readiness = await readinessOf(stores, follower);
 */
export async function readinessOf(
  stores: Pick<Stores, "ping">,
  follower: Pick<ChangeFollower, "readAgeMs" | "staleMs">,
): Promise<Readiness> {
  const reasons: NotReadyReason[] = [];
  // A balancer waits a second or two for an answer: a store that has not answered in
  // PING_BUDGET_MS is as good as unreachable.
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(resolve, PING_BUDGET_MS, "late");
  });
  const ping = stores.ping();
  // A ping that fails after the budget has run out is answered already: not unhandled.
  ping.catch(() => {});
  try {
    if ((await Promise.race([ping, late])) === "late") reasons.push("store_unreachable");
  } catch {
    reasons.push("store_unreachable");
  } finally {
    clearTimeout(timer);
  }
  if (follower.readAgeMs() > follower.staleMs) reasons.push("feed_behind");
  return { ready: reasons.length === 0, reasons };
}
