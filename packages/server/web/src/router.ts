/**
 * A small history-API router: a path signal and `navigate`.
 */
import { useEffect, useState } from "preact/hooks";

const listeners = new Set<() => void>();

/**
 * Goes to `path` without a reload; `replace` keeps the current entry out of the history.
 *
 * @example
 * navigate("/todos", true);
 */
export function navigate(path: string, replace = false): void {
  if (path === location.pathname) return;
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  for (const listener of listeners) listener();
}

addEventListener("popstate", () => {
  for (const listener of listeners) listener();
});

/**
 * The current path, re-rendering the component when it changes.
 *
 * @example
 * const path = usePath();
 */
export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = () => setPath(location.pathname);
    listeners.add(update);
    return () => listeners.delete(update);
  }, []);
  return path;
}

/**
 * The known path an address was probably meant to be: the same letters in another case,
 * or with trailing slashes (`/TODOS`, `/signin/`). `null` when none, or when the address
 * is already known. The server answers such addresses 404, so the app says where to go
 * rather than redirecting quietly.
 *
 * @example
 * closestPath("/Todos/", ["/todos", "/devices"]); // "/todos"
 * closestPath("/settings", ["/todos", "/devices"]); // null
 */
export function closestPath(path: string, known: readonly string[]): string | null {
  if (known.includes(path)) return null;
  const simple = path.toLowerCase().replace(/\/+$/, "");
  return known.find((candidate) => candidate === simple) ?? null;
}
