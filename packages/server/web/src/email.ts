/**
 * The signed-in person's email address as `GET /auth/email` describes it, shared by the
 * banner that asks to confirm it and the Security page's card that changes it, and what
 * the email and link errors mean to a person.
 */
import { useEffect, useState } from "preact/hooks";
import { call, client, LatchkeyError } from "./api.js";

/** `GET /auth/email`: the address, whether it is confirmed, a change waiting for its link. */
export interface EmailStatus {
  email: string | null;
  verified: boolean;
  pending: string | null;
  required: boolean;
}

let status: EmailStatus | null = null;
const listeners = new Set<() => void>();

function publish(next: EmailStatus | null): void {
  status = next;
  for (const listener of listeners) listener();
}

/**
 * Loads the address again (after a sign-in, a change, a confirmation); a failure keeps
 * what was shown, since a 401 is the app's to handle and the banner is not worth an error.
 *
 * @example
 * await reloadEmail();
 */
export async function reloadEmail(): Promise<void> {
  try {
    publish((await call(client.GET("/auth/email"))) as EmailStatus);
  } catch {
    // Nothing to show: the banner and card keep their last state.
  }
}

/** Forgets the address (a sign-out): the next person's is loaded afresh. */
export function forgetEmail(): void {
  publish(null);
}

/**
 * The address as last loaded, `null` until then; re-renders on each load.
 *
 * @example
 * const email = useEmail();
 */
export function useEmail(): EmailStatus | null {
  const [shown, setShown] = useState(status);
  useEffect(() => {
    const update = () => setShown(status);
    listeners.add(update);
    update();
    return () => void listeners.delete(update);
  }, []);
  return shown;
}

/**
 * Whether `input` looks like an email address: the server is the judge (it normalises and
 * checks it); this only catches a slip before sending.
 *
 * @example
 * looksLikeEmail("alice@example.com"); // true
 */
export function looksLikeEmail(input: string): boolean {
  return /^[^\s@]{1,64}@[^\s@]+\.[^\s@]+$/.test(input.trim()) && input.trim().length <= 254;
}

/** "in 3 minutes": how long a `429` says to wait. */
export function waitOf(error: LatchkeyError): string {
  const minutes = Math.max(1, Math.ceil((error.retryAfter ?? 60) / 60));
  return `in ${minutes} minute${minutes === 1 ? "" : "s"}`;
}

/** What a refused link means, and what to do; `null` when the error is not about the link. */
export function linkProblem(error: unknown): { title: string; text: string } | null {
  if (!(error instanceof LatchkeyError)) return null;
  switch (error.code) {
    case "link_invalid":
      return {
        title: "This link does not work.",
        text: "It may be incomplete (a mail program can cut long links), or a newer link or a change to the account has replaced it. Open it again from the latest mail, or ask for a new one.",
      };
    case "link_expired":
      return {
        title: "This link has expired.",
        text: "Links work for a limited time, for your safety. Ask for a new one.",
      };
    case "link_used":
      return {
        title: "This link has already been used.",
        text: "Each link works once. If it was not you who used it, ask for a new one and check your account's security log.",
      };
    default:
      return null;
  }
}

/** The message for a failure that is not the link's: the server's words, or the network's. */
export function failureText(error: unknown): string {
  if (!(error instanceof LatchkeyError)) return "The server could not be reached. Try again.";
  if (error.code === "rate_limited") return `Too many requests. Try again ${waitOf(error)}.`;
  return error.message;
}
