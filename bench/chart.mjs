/**
 * A plain SVG bar chart of requests per second relative to the ceiling: the baselines
 * (ceiling, I/O ceiling, floors, the frameworks' hello routes) in grey, Express in brown,
 * Better Auth in purple, latchkey in blue (its server dark, its adapters' host apps light),
 * and a black tick at a configuration's target where it has one: its ratio to the ceiling,
 * or its ratio to what bounds it (its floor, the I/O ceiling, or for an adapter's host app
 * its framework's floor), drawn at that bar times the target.
 */
const FILL = {
  ceiling: "#6b7280",
  "ceiling-io": "#6b7280",
  hello: "#6b7280",
  floor: "#9ca3af",
  express: "#b45309",
  "better-auth": "#7c3aed",
  adapter: "#60a5fa",
  latchkey: "#2b48c9",
};

/** Where a configuration's target falls on the scale of ratios to the ceiling, if it has one. */
function targetOnCeiling(r, results) {
  if (r.targets?.ratioToCeiling !== undefined) return r.targets.ratioToCeiling;
  const floor = r.floor && results.find((f) => f.name === r.floor);
  return r.targets?.ratioToFloor !== undefined && floor ? r.targets.ratioToFloor * floor.ratioToCeiling : undefined;
}

/** " · 9.1× Better Auth" after a latchkey configuration's figures. */
const versusBetterAuth = (r) =>
  (r.kind === "latchkey" || r.kind === "adapter") && typeof r.ratioToBetterAuth === "number"
    ? ` · ${r.ratioToBetterAuth.toFixed(1)}× Better Auth`
    : "";

export function renderChart(results) {
  const rowHeight = 28;
  const left = 320;
  const width = 860;
  const height = 60 + results.length * rowHeight;
  const scale = (width - left - 100) / Math.max(1, ...results.map((r) => r.ratioToCeiling));
  const escapeXml = (s) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
  const rows = results
    .map((r, i) => {
      const y = 30 + i * rowHeight;
      const w = Math.max(1, r.ratioToCeiling * scale);
      const target = targetOnCeiling(r, results);
      const tick =
        target === undefined
          ? ""
          : `\n<rect x="${(left + target * scale - 1).toFixed(1)}" y="${y - 3}" width="2" height="24" fill="#000"><title>target ${r.targets.ratioToCeiling ?? `${r.targets.ratioToFloor} of the floor`}</title></rect>`;
      return `<text x="${left - 10}" y="${y + 14}" text-anchor="end">${escapeXml(r.name)}</text>
<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="18" fill="${FILL[r.kind] ?? FILL.latchkey}"/>${tick}
<text x="${left + Math.max(w, target === undefined ? 0 : target * scale) + 6}" y="${y + 14}">${r.ratioToCeiling.toFixed(2)} (${Math.round(r.rps)}/s)${versusBetterAuth(r)}</text>`;
    })
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<title>Requests per second relative to the bare-Fastify ceiling</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="18" font-weight="bold">Requests per second, relative to the bare-Fastify ceiling (same run, same machine)</text>
${rows}
<text x="10" y="${height - 12}" fill="#374151">grey: baselines · brown: express-session · purple: Better Auth · blue: latchkey (light: in a host app) · tick: target</text>
</svg>
`;
}
