/**
 * Toasts: a short line confirming a completed action ("That device has been signed out."),
 * shown at the bottom of the screen for a few seconds and announced politely. Errors are
 * not toasts: they stay beside what failed until dealt with.
 */
import { useEffect, useState } from "preact/hooks";

/** How long a toast stays, in ms: long enough to read twice. */
const SHOWN_FOR = 6000;

interface Toast {
  id: number;
  text: string;
}

let next = 0;
const listeners = new Set<(toast: Toast) => void>();

/**
 * Shows `text` as a toast in the page's toast region.
 *
 * @example
 * toast("Password changed.");
 */
export function toast(text: string): void {
  const shown = { id: ++next, text };
  for (const listener of listeners) listener(shown);
}

/** The region toasts appear in: one per page, present from the start so screen readers hear it. */
export function Toasts() {
  const [toasts, setToasts] = useState<Toast[]>([]);
  useEffect(() => {
    const timers = new Set<ReturnType<typeof setTimeout>>();
    const add = (shown: Toast) => {
      setToasts((list) => [...list.slice(-2), shown]);
      const timer = setTimeout(() => {
        timers.delete(timer);
        setToasts((list) => list.filter((t) => t.id !== shown.id));
      }, SHOWN_FOR);
      timers.add(timer);
    };
    listeners.add(add);
    return () => {
      listeners.delete(add);
      for (const timer of timers) clearTimeout(timer);
    };
  }, []);
  return (
    <div class="toasts" role="status" aria-live="polite">
      {toasts.map((shown) => (
        <p key={shown.id} class="toast">
          {shown.text}
          <button
            type="button"
            class="ghost icon"
            aria-label="Dismiss"
            onClick={() => setToasts((list) => list.filter((t) => t.id !== shown.id))}
          >
            ✕
          </button>
        </p>
      ))}
    </div>
  );
}
