/**
 * What the client and latchkey, and the client's tabs, say to each other.
 */
import type { SessionInfo } from "./types.js";

/**
 * What latchkey's answers (`/auth/login`, `/auth/me`, `/auth/refresh`) carry that the client reads.
 *
 * @example
 * const answer = (await response.json()) as Answer;
 */
export interface Answer {
  user: { id: string; username: string; roles?: string[] };
  session: { id: string; strategy: SessionInfo["strategy"] };
  csrfToken?: string;
  accessExpiresIn?: number;
  access_token?: string;
  expires_in?: number;
}

/**
 * What `POST /auth/reauthenticate` answers beside a new access token (memory mode) or its
 * cookie's lifetime (`jwt`, `hybrid`).
 *
 * @example
 * const answer = (await response.json()) as ReauthAnswer;
 */
export interface ReauthAnswer extends Pick<Answer, "accessExpiresIn" | "access_token" | "expires_in"> {
  authTime: string;
  amr: string[];
  reauthWindow: number;
}

/**
 * What a tab tells the others. In memory mode a refresh or a sign-in carries the access
 * token: the tabs of one origin share it, as they would share a cookie (a script running in
 * the page could ask the client for it anyway; memory keeps it out of storage, at rest).
 * In cookie mode, never a secret: the expiry only, and the cookies are the browser's.
 *
 * @example
 * const message: Message = { reason: "signed_out", session: null, expiresAt: null, lifetime: 0 };
 */
export interface Message {
  reason: string;
  session: SessionInfo | null;
  token?: string | null;
  expiresAt: number | null;
  lifetime: number;
  /** A forced sign-out's message (`Change.message`). */
  message?: string;
  /** Why latchkey ended the session (`Change.ended`). */
  ended?: string;
}

export const SIGNED_IN = "signed_in";
export const REFRESHED = "refreshed";
/** Methods that change nothing, so they need no CSRF token. */
export const SAFE = /^(GET|HEAD|OPTIONS|TRACE)$/;
/** A header a form cannot send: latchkey honours the memory mode's refresh cookie only with it. */
export const XRW = { "x-requested-with": "latchkey" };
