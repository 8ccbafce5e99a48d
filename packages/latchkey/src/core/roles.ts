/**
 * Roles and permissions (`docs/roles.md`). A user has roles (`user` unless changed); a
 * role grants permissions; a route or a service asks for a role or a permission. Two
 * roles are built in: `user`, which grants nothing unless the app says so, and `admin`,
 * which grants every built-in permission (latchkey's own admin routes) and whatever the
 * app adds. The app declares its own permissions and roles in `createAuth` (`access`);
 * a name it uses and did not declare is refused at start-up, naming it, so a typo never
 * becomes a permission nobody has.
 */
import { BUILT_IN_PERMISSIONS } from "@latchkey/verify/rules";
import { AuthError } from "./errors.js";

export { BUILT_IN_PERMISSIONS };

/**
 * A built-in permission.
 * @example
 * const needed: BuiltInPermission = "users:set-roles";
 */
export type BuiltInPermission = (typeof BUILT_IN_PERMISSIONS)[number];

/**
 * The roles and permissions an app declares (`createAuth`'s `access`).
 * @example
 * const access: AccessOptions = {
 *   permissions: ["todos:read-any"],
 *   roles: { admin: ["todos:read-any"], support: ["users:read", "sessions:revoke"] },
 * };
 */
export interface AccessOptions {
  /** The app's own permissions, `area:action` in lower case (`todos:read-any`). */
  permissions?: readonly string[];
  /**
   * Roles and the permissions each grants, built-in ones included. `admin` always has the
   * built-in permissions; listing it adds the app's. A role name: lower case, 1 to 32
   * characters, starting with a letter (`a-z`, `0-9`, `_`, `-`).
   */
  roles?: Readonly<Record<string, readonly string[]>>;
}

/** A role name. */
export const ROLE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
/** A permission name: `area:action`. */
export const PERMISSION_NAME = /^[a-z][a-z0-9_-]{0,31}:[a-z][a-z0-9_-]{0,31}$/;
/**
 * The most roles one user may have.
 * @example
 * if (user.roles.length > MAX_ROLES) console.log("too many");
 */
export const MAX_ROLES = 16;

/**
 * The role model of a deployment: which roles exist and what each may do.
 * @example
 * const model = new RoleModel({ permissions: ["todos:read-any"], roles: { admin: ["todos:read-any"] } });
 * model.can(["admin"], "todos:read-any"); // true
 * model.can(["user"], "users:read"); // false
 */
export class RoleModel {
  /** Every declared role, sorted (`admin` and `user` included). */
  readonly roles: readonly string[];
  /** Every declared permission, sorted (the built-in ones included). */
  readonly permissions: readonly string[];
  readonly #grants: ReadonlyMap<string, ReadonlySet<string>>;
  readonly #granted = new Map<string, readonly string[]>();

  constructor(options: AccessOptions = {}) {
    const permissions = new Set<string>(BUILT_IN_PERMISSIONS);
    for (const name of options.permissions ?? []) {
      if (typeof name !== "string" || !PERMISSION_NAME.test(name)) {
        throw new TypeError(
          `latchkey: access.permissions: ${JSON.stringify(name)} is not a permission name (area:action, lower case, like "todos:read-any")`,
        );
      }
      permissions.add(name);
    }
    const grants = new Map<string, Set<string>>([
      ["user", new Set()],
      ["admin", new Set(BUILT_IN_PERMISSIONS)],
    ]);
    for (const [role, granted] of Object.entries(options.roles ?? {})) {
      if (!ROLE_NAME.test(role)) {
        throw new TypeError(
          `latchkey: access.roles: ${JSON.stringify(role)} is not a role name (lower case, 1 to 32 characters: a-z, 0-9, _ and -, starting with a letter)`,
        );
      }
      if (!Array.isArray(granted))
        throw new TypeError(`latchkey: access.roles.${role} must be an array of permissions`);
      const set = grants.get(role) ?? new Set<string>();
      for (const permission of granted) {
        if (!permissions.has(permission)) {
          throw new TypeError(
            `latchkey: access.roles.${role} grants ${JSON.stringify(permission)}, which is not a declared permission (declare it in access.permissions)`,
          );
        }
        set.add(permission);
      }
      grants.set(role, set);
    }
    this.roles = [...grants.keys()].sort();
    this.permissions = [...permissions].sort();
    this.#grants = grants;
  }

  /** Whether `roles` grant `permission`; throws `TypeError` for an undeclared permission (a typo). */
  can(roles: readonly string[], permission: string): boolean {
    for (const role of roles) if (this.#grants.get(role)?.has(permission)) return true;
    if (!this.permissions.includes(permission)) throw undeclared("permission", permission);
    return false;
  }

  /**
   * The permissions `roles` grant, sorted: computed once per distinct role list (`GET
   * /auth/me` answers it on every call), shared frozen.
   */
  permissionsOf(roles: readonly string[]): readonly string[] {
    const key = roles.join(" ");
    const known = this.#granted.get(key);
    if (known) return known;
    const granted = new Set<string>();
    for (const role of roles) for (const permission of this.#grants.get(role) ?? []) granted.add(permission);
    const sorted = Object.freeze([...granted].sort());
    if (this.#granted.size >= 256) this.#granted.clear();
    this.#granted.set(key, sorted);
    return sorted;
  }

  /** Throws a `TypeError` naming `name` unless it is a declared role (for `requireRole` at set-up). */
  assertRole(name: string): void {
    if (!this.#grants.has(name)) throw undeclared("role", name);
  }

  /** Throws a `TypeError` naming `name` unless it is a declared permission (for `requirePermission`). */
  assertPermission(name: string): void {
    if (!this.permissions.includes(name)) throw undeclared("permission", name);
  }

  /**
   * A role list as a client or the CLI sent it, checked: the declared roles, sorted, each
   * once. `invalid_request` naming what is wrong (not a list, empty, an unknown role).
   */
  parse(input: unknown): string[] {
    if (!Array.isArray(input) || input.some((role) => typeof role !== "string")) {
      throw new AuthError("invalid_request", "roles must be a list of role names.");
    }
    const roles = [...new Set(input as string[])].sort();
    if (roles.length === 0)
      throw new AuthError("invalid_request", "roles must name at least one role (user, for none).");
    if (roles.length > MAX_ROLES) throw new AuthError("invalid_request", `A user has at most ${MAX_ROLES} roles.`);
    const unknown = roles.filter((role) => !this.#grants.has(role));
    if (unknown.length > 0) {
      throw new AuthError(
        "invalid_request",
        `Unknown role${unknown.length > 1 ? "s" : ""}: ${unknown.map((r) => JSON.stringify(r.slice(0, 40))).join(", ")} (the roles are ${this.roles.join(", ")}).`,
      );
    }
    return roles;
  }
}

/**
 * The roles of a new user.
 * @example
 * const roles = [...DEFAULT_ROLES]; // ["user"]
 */
export const DEFAULT_ROLES: readonly string[] = Object.freeze(["user"]);

function undeclared(kind: "role" | "permission", name: string): TypeError {
  return new TypeError(
    `latchkey: ${JSON.stringify(name)} is not a declared ${kind} (declare it in createAuth's access option; see docs/roles.md)`,
  );
}
