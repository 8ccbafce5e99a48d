/**
 * What the "How it works" page shows, read without keeping the session alive (issue 30,
 * defect 7). Reading `/auth/me` records the session's use on the server under every
 * strategy, so a page that polled it would never let its tab go idle. This page reads
 * once when it opens, counts down on its own (`useNow`), and reads again only:
 *
 * - after the app's own requests (the traffic log): a use that has just happened, so a
 *   read right after it records nothing more (the server writes "last seen" at most once
 *   per touch interval). These reads go around the latchkey client, so the client never
 *   counts them as the app's activity when it decides whether to refresh.
 * - once when the idle window ends, through the client: then the session has ended, the
 *   `401` reaches the client, and the app shows the forced sign-out.
 */
import { useEffect, useRef, useState } from "preact/hooks";
import { call, client, type Me, type Policy, type TokenView } from "../../api.js";
import type { paths } from "../../generated/openapi";
import { onTraffic } from "../../traffic.js";

/** `GET /auth/cookies`: the cookies a login sets here, and which this request carried. */
export type CookieCatalog = paths["/auth/cookies"]["get"]["responses"][200]["content"]["application/json"];
/** One public key of `/.well-known/jwks.json`. */
export type PublicKey = {
  kid?: string;
  kty?: string;
  alg?: string;
  crv?: string;
  use?: string;
  [key: string]: unknown;
};

/** The page's own reads: their answers alone never call for a re-read. */
const OWN_READS = new Set(["/auth/me", "/auth/cookies", "/auth/access-token", "/auth/info", "/.well-known/jwks.json"]);
/** After the app's requests settle, ms: a refresh and its retry make one re-read. */
const SETTLE_MS = 300;
/** After the idle window ends, ms: the server's clock may be a little behind this one. */
const AFTER_IDLE_MS = 1500;
/** The longest delay `setTimeout` takes. */
const MAX_DELAY = 2_147_483_647;

export interface HowData {
  me: Me;
  cookies: CookieCatalog | null;
  token: TokenView | null;
  tokenError: string | null;
  keys: PublicKey[] | null;
  /** How many times the page read again after the app's traffic (shown, and tested). */
  rereads: number;
}

/** The clock, ticking every second: countdowns are computed here, never asked of the server. */
export function useNow(): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(tick);
  }, []);
  return now;
}

/**
 * The page's data, read as this module's comment says.
 *
 * @example
 * const data = useHowData(me, policy);
 */
export function useHowData(initialMe: Me, policy: Policy): HowData {
  const usesTokens = policy.strategy !== "session";
  const [data, setData] = useState<HowData>({
    me: initialMe,
    cookies: null,
    token: null,
    tokenError: null,
    keys: null,
    rereads: 0,
  });
  const mounted = useRef(true);
  const update = (change: Partial<HowData>) => {
    if (mounted.current) setData((before) => ({ ...before, ...change }));
  };

  // Once, when the page opens: through the client, like any page the person opens.
  useEffect(() => {
    mounted.current = true;
    void call(client.GET("/auth/me")).then((me) => update({ me }), ignore);
    void call(client.GET("/auth/cookies")).then((cookies) => update({ cookies }), ignore);
    if (usesTokens) {
      void call(client.GET("/auth/access-token")).then(
        (token) => update({ token, tokenError: null }),
        () => update({ tokenError: "The token could not be read." }),
      );
      void publicKeys().then((keys) => update({ keys }), ignore);
    }
    return () => {
      mounted.current = false;
    };
  }, []);

  // Again after the app's own traffic, around the client.
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const reread = async () => {
      const [me, cookies, token] = await Promise.all([
        quietly<Me>("/auth/me"),
        quietly<CookieCatalog>("/auth/cookies"),
        usesTokens ? quietly<TokenView>("/auth/access-token") : Promise.resolve(null),
      ]);
      if (!mounted.current) return;
      setData((before) => ({
        ...before,
        me: me ?? before.me,
        cookies: cookies ?? before.cookies,
        token: token ?? before.token,
        rereads: before.rereads + 1,
      }));
    };
    const stop = onTraffic((entry) => {
      if (OWN_READS.has(entry.path) && entry.cookies.length === 0) return;
      clearTimeout(timer);
      timer = setTimeout(() => void reread(), SETTLE_MS);
    });
    return () => {
      stop();
      clearTimeout(timer);
    };
  }, []);

  // Once when the idle window ends, through the client: a 401 there is the forced sign-out.
  const idleEnd = Date.parse(data.me.session.idleExpiresAt);
  useEffect(() => {
    const delay = Math.max(idleEnd - Date.now(), 0) + AFTER_IDLE_MS;
    const timer = setTimeout(
      () => {
        call(client.GET("/auth/me")).then((me) => update({ me }), ignore);
      },
      Math.min(delay, MAX_DELAY),
    );
    return () => clearTimeout(timer);
  }, [idleEnd]);

  return data;
}

/** A read that is not the app's activity: the client never sees it (GETs need no CSRF header). */
async function quietly<Data>(path: string): Promise<Data | null> {
  try {
    const response = await fetch(path, { credentials: "same-origin", headers: { accept: "application/json" } });
    return response.ok ? ((await response.json()) as Data) : null;
  } catch {
    return null;
  }
}

/** The JWKS: public keys, readable by anyone, and no use of the session. */
async function publicKeys(): Promise<PublicKey[]> {
  const response = await fetch("/.well-known/jwks.json", { credentials: "omit" });
  if (!response.ok) return [];
  return ((await response.json()) as { keys?: PublicKey[] }).keys ?? [];
}

function ignore(): void {}
