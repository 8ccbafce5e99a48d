/**
 * `latchkey/internal`: the building blocks `@latchkey/server` shares with the library (the
 * contract's error bodies, the OpenAPI security schemes, path and origin helpers). It is
 * for latchkey's own packages: not part of the public API, and it may change in any release.
 */
export { cookieNames } from "./http/cookies.js";
export { errorBody } from "./http/errors.js";
export { isSameSite, parseOrigin } from "./http/origin.js";
export { targetPath } from "./http/paths.js";
export { BODY_LIMIT } from "./http/request.js";
export { SECURITY, securitySchemes } from "./http/schemas.js";
export { isoTime } from "./http/views.js";
export { parseRedisUrl } from "./stores/redis/topology.js";
