/**
 * `requireRole` and `requirePermission` (`docs/roles.md`): what a host route asks of an
 * authenticated request beyond being signed in. The names are checked when the host
 * builds the middleware (a `TypeError` naming an undeclared one: a typo fails at
 * start-up, never as a route nobody can reach), and a request without them is refused
 * `403 forbidden`. Checking costs no store read: the roles came with the credential.
 */
import type { Auth } from "../core/auth.js";
import { AuthError } from "../core/errors.js";
import type { RequestAuth } from "./context.js";

/**
 * Throws `403 forbidden` unless the request may go on.
 * @example
 * const admins: Requirement = requirementOf(auth, "role", ["admin"]);
 * admins(request.auth); // throws AuthError("forbidden") for a plain user
 */
export type Requirement = (who: RequestAuth) => void;

/**
 * A role requirement is met by any one of `names`; a permission requirement needs every
 * one of them.
 *
 * @example
 * const canReadUsers = requirementOf(auth, "permission", ["users:read"]);
 */
export function requirementOf(auth: Auth, kind: "role" | "permission", names: readonly string[]): Requirement {
  const factory = kind === "role" ? "requireRole" : "requirePermission";
  if (names.length === 0 || names.some((name) => typeof name !== "string")) {
    throw new TypeError(
      `latchkey: ${factory} takes one or more ${kind} names, such as ${factory}("${kind === "role" ? "admin" : "users:read"}")`,
    );
  }
  for (const name of names) {
    if (kind === "role") auth.roles.assertRole(name);
    else auth.roles.assertPermission(name);
  }
  const wanted = [...names];
  if (kind === "role") {
    const message = `This needs the role ${wanted.join(" or ")}.`;
    return (who) => {
      for (const role of wanted) if (who.roles.includes(role)) return;
      throw new AuthError("forbidden", message);
    };
  }
  return (who) => {
    for (const permission of wanted) {
      if (!who.can(permission)) throw new AuthError("forbidden", `This needs the permission ${permission}.`);
    }
  };
}
