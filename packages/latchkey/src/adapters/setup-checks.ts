/**
 * The set-up mistakes an adapter can see only at a request (Express and Hono tell a
 * middleware nothing when it is mounted): latchkey's routes mounted under a path where
 * none of them can be, or a body read by someone else before latchkey's routes saw it.
 * Each is a `LatchkeySetupError` naming the fix, logged once and handed to the host's
 * error handling at every request it spoils, never answered as if it were the client's.
 */
import { LatchkeySetupError } from "../core/errors.js";
import type { GuestLog } from "../http/dispatch.js";
import type { Guest } from "../http/guest.js";
import { routePath } from "../http/routes/spec.js";

/** How the mistake reads in the host's framework. */
export interface MountWords {
  /** The factory, for the fix: `latchkeyExpress`. */
  factory: string;
  /** How the host mounted it: `app.use("/v1", latchkey.routes)`. */
  mounted(mount: string): string;
}

/**
 * A check of the path latchkey's routes middleware runs under (Express's `req.baseUrl`,
 * Hono's base path): a `LatchkeySetupError` when no route of latchkey's lies under it (every
 * one would be a silent 404), else `null`. A mount with parameters or wildcards is not
 * judged.
 *
 * @example
 * const check = mountCheck(guest, { factory: "latchkeyExpress", mounted: (m) => `app.use("${m}", latchkey.routes)` });
 * check("/v1"); // LatchkeySetupError when prefix is not under /v1
 */
export function mountCheck(guest: Guest, words: MountWords): (mount: string) => LatchkeySetupError | null {
  const paths = guest.routes.map((spec) => comparable(routePath(spec, guest.prefix)));
  const fits = new Map<string, boolean>();
  return (mount) => {
    if (mount === "" || mount === "/" || /[:*(]/.test(mount)) return null;
    let fit = fits.get(mount);
    if (fit === undefined) {
      const key = comparable(mount.replace(/\/+$/, ""));
      fit = paths.some((path) => path === key || path.startsWith(`${key}/`));
      if (fits.size < 100) fits.set(mount, fit);
    }
    if (fit) return null;
    const where = guest.prefix === "" ? "at the root" : `under "${guest.prefix}"`;
    return new LatchkeySetupError(
      `latchkey.routes runs under "${mount}" (${words.mounted(mount)}), but its routes live ${where} (prefix "${guest.prefix}"), so every one of them would answer 404. Pass prefix: "${mount}" to ${words.factory}, or mount latchkey.routes at the root.`,
    );
  };
}

/** A path as routing compares it, whatever its case or percent-encoding. */
function comparable(path: string): string {
  try {
    return decodeURIComponent(path).toLowerCase();
  } catch {
    return path.toLowerCase();
  }
}

/**
 * The error for a request whose body was read before latchkey's route saw it: latchkey's
 * body rules (JSON only, 64 KiB, strict UTF-8, prototype poisoning refused) would be the
 * other parser's, or nothing.
 *
 * @example
 * throw bodyReadBeforeLatchkey("express.json() or any other body parser", "app.use(latchkey.routes) before app.use(express.json())");
 */
export function bodyReadBeforeLatchkey(reader: string, fix: string): LatchkeySetupError {
  return new LatchkeySetupError(
    `the body of a request to one of latchkey's routes was read before latchkey.routes saw it (${reader}), so latchkey's own body rules (JSON only, 64 KiB, strict UTF-8) cannot apply. Mount latchkey.routes first (${fix}), or scope the parser to your own routes.`,
  );
}

/**
 * Logs a set-up error the first time one shows (`log.error`), so a log is not flooded by
 * the same mistake at every request; the error itself still goes to the host's error
 * handling at each request it spoils.
 *
 * @example
 * const report = logOnce(options.log);
 * report(error);
 * next(error);
 */
export function logOnce(log: GuestLog | undefined): (error: LatchkeySetupError) => void {
  let logged = false;
  return (error) => {
    if (logged) return;
    logged = true;
    log?.error({ err: error }, error.message);
  };
}
