/**
 * Work in progress kept across a forced sign-in: the to-do being typed and the one being
 * edited, in this tab's memory only (never storage: a draft can hold anything the person
 * typed), and given back only to the user who typed it. A different user signing in, or
 * the person signing out on purpose, drops it.
 */

/** What the to-do page was in the middle of. */
export interface Draft {
  /** The new to-do's field. */
  title: string;
  /** The to-do being edited (its id) and the title typed so far. */
  edit: { id: string; text: string } | null;
}

let held: { userId: string; draft: Draft; interrupted: boolean } | null = null;

/**
 * Keeps `draft` as `userId`'s, replacing the previous one; an empty draft keeps nothing.
 *
 * @example
 * keepDraft(me.user.id, { title: "Buy milk", edit: null });
 */
export function keepDraft(userId: string, draft: Draft): void {
  held = draft.title.trim() === "" && draft.edit === null ? null : { userId, draft, interrupted: false };
}

/**
 * `userId`'s draft, or `null` (none, or another user's, which is dropped).
 *
 * @example
 * const [title, setTitle] = useState(() => draftOf(userId)?.title ?? "");
 */
export function draftOf(userId: string): Draft | null {
  if (held && held.userId !== userId) held = null;
  return held?.draft ?? null;
}

/** Marks the draft as cut off by a sign-out, so the page says it is back when it gives it back. */
export function interruptDraft(): void {
  if (held) held.interrupted = true;
}

/**
 * Whether `userId`'s draft was cut off by a sign-out (and not yet said to be back); asking
 * clears it.
 *
 * @example
 * if (wasInterrupted(userId)) announce("What you were typing is back.");
 */
export function wasInterrupted(userId: string): boolean {
  const interrupted = held?.userId === userId && held.interrupted;
  if (held) held.interrupted = false;
  return interrupted;
}

/** Forgets any draft: the person signed out on purpose. */
export function dropDraft(): void {
  held = null;
}
