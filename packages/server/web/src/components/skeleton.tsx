/**
 * A list's placeholder while it loads: grey bars the shape of its rows, so the page does
 * not jump when the list arrives. Screen readers hear `label` (the bars are hidden from them).
 */
export function SkeletonList(props: { label: string; rows?: number }) {
  return (
    <div class="skeleton-list" role="status" aria-busy="true">
      <span class="sr-only">{props.label}…</span>
      {Array.from({ length: props.rows ?? 3 }, (_, row) => (
        <div key={row} class="skeleton-row" aria-hidden="true">
          <span class="skeleton-line wide" />
          <span class="skeleton-line" />
        </div>
      ))}
    </div>
  );
}
