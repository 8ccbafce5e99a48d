/**
 * The core's options from the configuration: one place for the server and the CLI.
 */
import type { AccessOptions, AuthOptions, Stores } from "latchkey";
import type { Config } from "./config.js";

/**
 * The to-do app's own permission: to see how many to-dos each user has (never a title).
 *
 * @example
 * app.get("/api/todos/stats", { preHandler: app.requirePermission(TODOS_READ_ANY) }, handler);
 */
export const TODOS_READ_ANY = "todos:read-any";

/**
 * The roles and permissions the product declares beside latchkey's built-in ones: the
 * example of an app declaring its own (`docs/roles.md`). `admin` gets the to-do app's.
 *
 * @example
 * const auth = await createAuth({ stores, access: PRODUCT_ACCESS });
 */
export const PRODUCT_ACCESS = {
  permissions: [TODOS_READ_ANY],
  roles: { admin: [TODOS_READ_ANY] },
} as const satisfies AccessOptions;

/**
 * @example
 * const auth = await createAuth(authOptionsFrom(config, stores));
 */
export function authOptionsFrom(
  config: Config,
  stores: Stores,
  issuer: string | (() => string) = config.publicOrigin ?? `http://localhost:${config.port}`,
): AuthOptions {
  return {
    stores,
    access: PRODUCT_ACCESS,
    sessions: {
      idleTimeout: config.sessionIdleTimeout,
      absoluteTimeout: config.sessionAbsoluteTimeout,
      rememberIdleTimeout: config.rememberIdleTimeout,
      rememberAbsoluteTimeout: config.rememberAbsoluteTimeout,
      maxPerUser: config.sessionMaxPerUser,
      rotateInterval: config.sessionRotateInterval,
      rotateGrace: config.sessionRotateGrace,
    },
    throttle: {
      maxFailures: config.loginMaxFailures,
      addressMaxFailures: config.loginAddressMaxFailures,
      window: config.loginWindow,
    },
    limits: {
      registerPerAddress: config.registerAddressMax,
      inFlightPerAddress: config.loginAddressMaxInFlight,
    },
    hashQueue: config.hashQueue,
    streams: { perService: config.streamsPerService, perInstance: config.streamsPerInstance },
    tokens: {
      issuer,
      alg: config.jwtAlg,
      secret: config.jwtSecret,
      accessTokenTtl: config.accessTokenTtl,
      clockTolerance: config.clockTolerance,
      revocation: config.revocation,
      refreshReuseLeeway: config.refreshReuseLeeway,
    },
  };
}
