/**
 * Request checks with latchkey's own rules, whatever the host's: TypeBox's compiled
 * checks, types never coerced (`{"username": 123}` is a 400, not "123"), unknown fields
 * dropped. The core (`dispatch.ts`) checks every request with it, in every adapter (in
 * Fastify, a host's Ajv may coerce: it never sees latchkey's routes).
 */
import type { TSchema } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { Value } from "@sinclair/typebox/value";
import { AuthError } from "../core/errors.js";
import { SHARED_SCHEMAS } from "./schemas.js";

/** A compiled check: the value to use, or the contract's error. */
export type RequestCheck = (value: unknown) => { value: unknown } | { error: AuthError };

/**
 * @example
 * const check = compileRequestCheck(LoginBody, "body");
 * check({ username: "a" }); // { error: AuthError("invalid_request", "Invalid request: body must have ...") }
 */
export function compileRequestCheck(schema: TSchema, part: string): RequestCheck {
  const compiled = TypeCompiler.Compile(schema, SHARED_SCHEMAS as TSchema[]);
  const isObject = schema.type === "object";
  return (input) => {
    // Fastify hands `null` for an absent part.
    const value = input === null || input === undefined ? undefined : Value.Clean(schema, input);
    if (compiled.Check(value)) return { value };
    // The path and the rule, never the value (the body may hold a password).
    if (value === undefined && isObject) return { error: invalid(`${part} must be an object`) };
    const first = compiled.Errors(value).First();
    const where = first?.path ? `${part}${first.path.replaceAll("/", ".")}` : part;
    return { error: invalid(`${where}: ${first?.message ?? "not valid"}`) };
  };
}

function invalid(detail: string): AuthError {
  return new AuthError("invalid_request", `Invalid request: ${detail}.`);
}
