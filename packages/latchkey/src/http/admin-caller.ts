/**
 * Who acts on an admin route (`routes/admin.ts`): the administrator behind an
 * authenticated request, once their roles grant the route's permission, with the client
 * they act from (for the audit log). Their changes are counted, so one administrator's
 * credential cannot change users faster than a person would.
 */
import type { AdminContext } from "../core/admin.js";
import type { Auth } from "../core/auth.js";
import { AuthError, RateLimitedError } from "../core/errors.js";
import { BUILT_IN_PERMISSIONS, type BuiltInPermission } from "../core/roles.js";
import { clientInfo } from "./client.js";
import type { AuthRequest } from "./kit.js";
import { type Requirement, requirementOf } from "./requirement.js";
import { who } from "./routes/spec.js";

/**
 * How many changes (`POST`, `PUT`, `DELETE` under `/admin/*`) one administrator may make
 * per minute, counted in the shared counter store (so across instances); more are `429
 * rate_limited` with `Retry-After`.
 *
 * @example
 * if (changesThisMinute > ADMIN_WRITES_PER_MINUTE) console.log("throttled");
 */
export const ADMIN_WRITES_PER_MINUTE = 60;

/**
 * The administrator behind an authenticated request, once they may do `permission`: the
 * roles the credential carries are checked first (a plain user is refused without a
 * read), then the roles stored now, read from the store on every admin request (a token still
 * verifying under `REVOCATION=expiry`, or on an instance the feed has not reached yet,
 * may carry roles taken away since). A change needs a recent sign-in (`reauthWindow`) and
 * is counted against the administrator.
 *
 * @example
 * const act = actingAdministrator(auth);
 * const admin = await act(request, "users:disable", { writes: true }); // 403 forbidden or reauthentication_required, 429 rate_limited
 * await auth.admin.disable(userId, admin);
 */
export function actingAdministrator(auth: Auth) {
  const requirements = new Map<string, Requirement>(
    BUILT_IN_PERMISSIONS.map((permission) => [permission, requirementOf(auth, "permission", [permission])]),
  );
  return async (
    request: AuthRequest,
    permission: BuiltInPermission,
    options: { writes?: boolean } = {},
  ): Promise<AdminContext> => {
    const caller = who(request);
    requirements.get(permission)?.(caller);
    // The session must be live, and the roles are read from the store now: never from the
    // second-long memory of a token's session (`findLiveRecent`), which may predate a
    // demotion this instance has not heard of yet (review of issue 27).
    const { session } = await caller.load();
    const user = await auth.stores.users.findById(session.userId);
    if (!user || user.disabledAt !== null) throw new AuthError("unauthenticated", "Sign in to continue.");
    if (!auth.roles.can(user.roles, permission)) {
      throw new AuthError("forbidden", `This needs the permission ${permission}.`);
    }
    if (options.writes) {
      // A change needs a recent sign-in: a session left open is not enough to change users.
      // A token's session may be the second-old copy (`findLiveRecent`) from before a
      // re-authentication on another instance: a refusal reads the store itself first.
      const fresh = auth.recentSignIn.isRecent(session)
        ? session
        : ((await auth.sessions.findLive(session.id))?.session ?? session);
      await auth.recentSignIn.require(fresh, { password: false });
      await countChange(auth, user.id);
    }
    return { actor: { userId: user.id, username: user.username }, ...clientInfo(request) };
  };
}

/** One change by `userId`, counted before it is made; `429` over the limit. */
async function countChange(auth: Auth, userId: string): Promise<void> {
  const now = auth.clock.now();
  const hit = await auth.stores.counters.hit(`admin:actor:${userId}`, 60_000, now);
  if (hit.count > ADMIN_WRITES_PER_MINUTE) throw new RateLimitedError((hit.resetAt - now) / 1000);
}
