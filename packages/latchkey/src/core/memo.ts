/**
 * A bounded memo for pure functions on the request path (a CSRF token from a session id,
 * an ISO string from a time, a device from a User-Agent): the first call computes, later
 * calls with the same key read a Map. When `size` keys are held the Map is emptied, which
 * costs one recomputation per key and needs no bookkeeping per call.
 *
 * @example
 * const iso = memoize((ms: number) => new Date(ms).toISOString(), 4096);
 */
export function memoize<K, V>(compute: (key: K) => V, size: number): (key: K) => V {
  const memo = new Map<K, V>();
  return (key) => {
    let value = memo.get(key);
    if (value === undefined) {
      value = compute(key);
      if (memo.size >= size) memo.clear();
      memo.set(key, value);
    }
    return value;
  };
}

/**
 * Deletes entries from the front of `map` while `stale(value)` holds, and stops at the
 * first that is not: for maps whose insertion order is (about) the order their entries go
 * stale, so dropping what has expired costs only the expired entries.
 *
 * @example
 * const seen = new Map<string, number>([["a", 1], ["b", 5]]);
 * dropStaleFront(seen, (at) => at < 3); // seen holds only "b"
 */
export function dropStaleFront<K, V>(map: Map<K, V>, stale: (value: V) => boolean): void {
  for (const [key, value] of map) {
    if (!stale(value)) return;
    map.delete(key);
  }
}
