/**
 * A plain SVG bar chart of requests per second relative to the ceiling: the baselines
 * (ceiling, I/O ceiling, floors) in grey, Express in brown, latchkey in blue, and a black
 * tick at a configuration's target ratio where it has one.
 */
const FILL = { ceiling: "#6b7280", "ceiling-io": "#6b7280", floor: "#9ca3af", express: "#b45309", latchkey: "#2b48c9" };

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
      const target = r.targets?.ratioToCeiling;
      const tick =
        target === undefined
          ? ""
          : `\n<rect x="${(left + target * scale - 1).toFixed(1)}" y="${y - 3}" width="2" height="24" fill="#000"><title>target ${target}</title></rect>`;
      return `<text x="${left - 10}" y="${y + 14}" text-anchor="end">${escapeXml(r.name)}</text>
<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="18" fill="${FILL[r.kind] ?? FILL.latchkey}"/>${tick}
<text x="${left + Math.max(w, target === undefined ? 0 : target * scale) + 6}" y="${y + 14}">${r.ratioToCeiling.toFixed(2)} (${Math.round(r.rps)}/s)</text>`;
    })
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<title>Requests per second relative to the bare-Fastify ceiling</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="18" font-weight="bold">Requests per second, relative to the bare-Fastify ceiling (same run, same machine)</text>
${rows}
<text x="10" y="${height - 12}" fill="#374151">grey: baselines (ceilings, floors) · brown: Express + express-session · blue: latchkey · black tick: the target ratio</text>
</svg>
`;
}
