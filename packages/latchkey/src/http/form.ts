/**
 * `application/x-www-form-urlencoded` bodies, for the two OAuth endpoints that take them
 * (the client-credentials grant, RFC 6749 4.4, and introspection, RFC 7662). Every other
 * route of latchkey takes JSON only.
 */
import { AuthError } from "../core/errors.js";

/** The form content type, as a request names it (parameters allowed). */
export const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(;|$)/i;

/**
 * The fields of a form body. A field sent twice is refused: RFC 6749 3.2 forbids it, and a
 * duplicate is how a proxy and a server come to read different values.
 *
 * @example
 * parseForm("grant_type=client_credentials"); // { grant_type: "client_credentials" }
 */
export function parseForm(text: string): Record<string, string> {
  const fields: Record<string, string> = Object.create(null);
  for (const [name, value] of new URLSearchParams(text)) {
    if (name in fields) throw new AuthError("invalid_request", `The form field "${name.slice(0, 64)}" appears twice.`);
    fields[name] = value;
  }
  return { ...fields };
}
