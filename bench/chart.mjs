/** A plain SVG bar chart of requests per second relative to the ceiling. */
export function renderChart(results) {
  const rowHeight = 28;
  const left = 300;
  const width = 820;
  const height = 40 + results.length * rowHeight;
  const scale = (width - left - 80) / Math.max(1, ...results.map((r) => r.ratioToCeiling));
  const escapeXml = (s) => s.replaceAll("&", "&amp;").replaceAll("<", "&lt;");
  const rows = results
    .map((r, i) => {
      const y = 30 + i * rowHeight;
      const w = Math.max(1, r.ratioToCeiling * scale);
      const fill = i === 0 ? "#6b7280" : i === 1 ? "#b45309" : "#2b48c9";
      return `<text x="${left - 10}" y="${y + 14}" text-anchor="end">${escapeXml(r.name)}</text>
<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="18" fill="${fill}"/>
<text x="${left + w + 6}" y="${y + 14}">${r.ratioToCeiling.toFixed(2)} (${Math.round(r.rps)}/s)</text>`;
    })
    .join("\n");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">
<title>Requests per second relative to the bare-Fastify ceiling</title>
<rect width="100%" height="100%" fill="#fff"/>
<text x="10" y="18" font-weight="bold">Requests per second, relative to the bare-Fastify ceiling (same run, same machine)</text>
${rows}
</svg>
`;
}
