/**
 * "The person is back": the tab became visible or took the focus. Pages use it to show
 * what changed elsewhere meanwhile (a device that signed in, a session ended) without a
 * reload; coming back is use, so asking the server then is fine (unlike a timer, which
 * would keep an idle session alive).
 */
import { useEffect, useRef } from "preact/hooks";
import { latchkey } from "./api.js";

/**
 * Calls `callback` when the page becomes visible or takes the focus, and, with
 * `onSessionChange`, on every change of the session the client tells (this tab's or
 * another's). The two events often come together: a callback that asks the server keeps
 * one request in flight, or lets the newest answer win (never a time window, which would
 * swallow a real second return).
 *
 * @example
 * useOnReturn(load, { onSessionChange: true });
 */
export function useOnReturn(callback: () => void, options: { onSessionChange?: boolean } = {}): void {
  const latest = useRef(callback);
  latest.current = callback;
  const { onSessionChange = false } = options;
  useEffect(() => {
    const back = () => {
      if (document.visibilityState === "visible") latest.current();
    };
    const visible = () => back();
    addEventListener("focus", back);
    document.addEventListener("visibilitychange", visible);
    const stop = onSessionChange ? latchkey.onChange(({ session }) => session && latest.current()) : () => {};
    return () => {
      removeEventListener("focus", back);
      document.removeEventListener("visibilitychange", visible);
      stop();
    };
  }, [onSessionChange]);
}
