/**
 * Headers that depend on where a request goes are decided by the route it reached, never
 * by `request.url`: that is the raw request target, which may be in absolute form (`POST
 * http://host/auth/token HTTP/1.1`, RFC 9112 3.2.2) or percent-encoded (`/%61uth/token`),
 * and the router still sends both to `/auth/token`. This is for the answers no route gives
 * (404, 405).
 */

/**
 * The decoded path of a request target in origin form (`/a?b`) or absolute form
 * (`http://h/a?b`), for answers no route gave.
 *
 * @example
 * targetPath("http://localhost/%61uth/token?x=1"); // "/auth/token"
 */
export function targetPath(target: string): string {
  let path = target;
  if (!target.startsWith("/")) {
    try {
      path = new URL(target).pathname;
    } catch {
      return target;
    }
  }
  path = path.split("?", 1)[0] as string;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
