/**
 * The core's options from the configuration: one place for the server and the CLI.
 */
import { randomBytes } from "node:crypto";
import type { AccessOptions, AuthOptions, MailOptions, Stores } from "latchkey";
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

/** What the configuration does not hold: the origin links and tokens name, and the mail transport. */
export interface AuthOptionsContext {
  /** Default `PUBLIC_ORIGIN`, or `http://localhost:$PORT`; a function when known only once listening. */
  issuer?: string | (() => string);
  /** How mail leaves (`configuredTransport`) and where its sends and failures are logged; none, no mail. */
  mail?: Pick<MailOptions, "transport" | "log">;
  /**
   * The key the database keeps (`factorKeyFallback`): it seals TOTP secrets when
   * `MFA_KEYS` is unset, and opens what it sealed after `MFA_KEYS` is set.
   */
  factorKey?: string;
}

/**
 * The key that seals TOTP secrets without `MFA_KEYS`: one made once and kept in the
 * database's secrets, shared by every instance, so `npm start` can add authenticator apps
 * with no set-up. A copy of the database then opens them: production sets `MFA_KEYS`.
 * @example
 * const factorKey = config.mfaKeys ? undefined : await factorKeyFallback(stores);
 */
export async function factorKeyFallback(stores: Stores): Promise<string> {
  return stores.secrets.getOrCreate("mfa-key", randomBytes(32).toString("base64"));
}

/**
 * @example
 * const transport = configuredTransport(config, log);
 * const auth = await createAuth(authOptionsFrom(config, stores, { mail: { transport, log } }));
 */
export function authOptionsFrom(config: Config, stores: Stores, context: AuthOptionsContext = {}): AuthOptions {
  const issuer = context.issuer ?? config.publicOrigin ?? `http://localhost:${config.port}`;
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
      endReasonTtl: config.sessionEndReasonTtl,
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
    reauthWindow: config.reauthWindow,
    eventRetentionDays: config.eventRetention,
    // The database's key comes last: it opens what was sealed before MFA_KEYS was set,
    // until `latchkey factors reseal` has moved it all under MFA_KEYS.
    factors: {
      keys: [...(config.mfaKeys ? [config.mfaKeys] : []), ...(context.factorKey ? [context.factorKey] : [])],
      issuer: config.mfaIssuer,
    },
    // Bound to PUBLIC_ORIGIN's domain; the site's other origins may use them too.
    passkeys: {
      ...(config.passkeyRpId && { rpId: config.passkeyRpId }),
      origins: config.trustedOrigins,
    },
    ...(context.mail && { mail: { ...context.mail, from: config.mailFrom } }),
    email: {
      requireVerified: config.requireVerifiedEmail,
      verifyTtl: config.verifyLinkTtl,
      resetTtl: config.resetLinkTtl,
      mailPerAddress: config.mailAddressMax,
      mailPerAccount: config.mailAccountMax,
    },
  };
}
