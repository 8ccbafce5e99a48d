/** The checks of `createVerifier`'s options that shape its requests and its rules. */
import type { VerifierOptions } from "./verifier.js";

/**
 * latchkey's address for the verifier's requests: `baseUrl` (else the issuer) and `prefix`.
 * An address that is not an http(s) URL, or holds a user or password, is refused here,
 * and the message does not repeat it: fetch would refuse it on every read with an error
 * that repeats the URL, password and all, into `onFeedError` and the service's logs.
 */
export function latchkeyAddress(options: Pick<VerifierOptions, "issuer" | "baseUrl" | "prefix">): string {
  const name = options.baseUrl === undefined ? "issuer" : "baseUrl";
  const prefix = options.prefix ?? "";
  if (prefix !== "" && !prefix.startsWith("/")) {
    throw new TypeError(`createVerifier: prefix must be "" or a path that starts with "/" (latchkey's route prefix).`);
  }
  const address = `${(options.baseUrl ?? options.issuer).replace(/\/$/, "")}${prefix}`;
  const url = URL.parse(address);
  if (url === null || (url.protocol !== "http:" && url.protocol !== "https:")) {
    throw new TypeError(`createVerifier: ${name} must be latchkey's http(s) address, such as https://auth.example.`);
  }
  const issuer = options.baseUrl === undefined ? url : URL.parse(options.issuer);
  if (url.username || url.password || issuer?.username || issuer?.password) {
    const which = url.username || url.password ? name : "issuer";
    throw new TypeError(
      `createVerifier: ${which} must not hold a user or password (user:password@): give the service's credentials as \`credentials\`.`,
    );
  }
  return address;
}

/** `accessTokenTtl`, checked: seconds, or no limit when unset. */
export function tokenLifetime(seconds: number | undefined): number {
  if (seconds === undefined) return Number.POSITIVE_INFINITY;
  if (Number.isFinite(seconds) && seconds > 0) return seconds;
  throw new RangeError(
    "createVerifier: accessTokenTtl must be latchkey's ACCESS_TOKEN_TTL, a positive number of seconds.",
  );
}
