/**
 * The core's options from the configuration: one place for the server and the CLI.
 */
import type { AuthOptions, Stores } from "latchkey";
import type { Config } from "./config.js";

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
    sessions: {
      idleTimeout: config.sessionIdleTimeout,
      absoluteTimeout: config.sessionAbsoluteTimeout,
      rememberIdleTimeout: config.rememberIdleTimeout,
      rememberAbsoluteTimeout: config.rememberAbsoluteTimeout,
      maxPerUser: config.sessionMaxPerUser,
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
