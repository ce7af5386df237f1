// A bar chart as inline SVG, drawn here: no chart library, nothing fetched.
const SVG = "http://www.w3.org/2000/svg";
const BAR_HEIGHT = 22;
const GAP = 6;
const LABEL_WIDTH = 150;
const WIDTH = 480;

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// counts: [[label, number], ...]; one horizontal bar each, its number at its end.
export function barChart(container, counts, description) {
  if (counts.length === 0) {
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = "No check-ins to chart.";
    container.replaceChildren(empty);
    return;
  }
  const height = counts.length * (BAR_HEIGHT + GAP) + GAP;
  const most = Math.max(...counts.map(([, n]) => n));
  const room = WIDTH - LABEL_WIDTH - 40;
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, role: "img", "aria-label": description });
  counts.forEach(([label, n], i) => {
    const y = GAP + i * (BAR_HEIGHT + GAP);
    const shown = label.length > 22 ? `${label.slice(0, 21)}…` : label;
    chart.append(
      svg("text", { x: LABEL_WIDTH - 6, y: y + BAR_HEIGHT * 0.7, "text-anchor": "end" }, shown),
      svg("rect", { class: "bar", x: LABEL_WIDTH, y, height: BAR_HEIGHT, width: Math.max(2, (room * n) / most), rx: 3 }),
      svg("text", { x: LABEL_WIDTH + (room * n) / most + 6, y: y + BAR_HEIGHT * 0.7 }, String(n)),
    );
  });
  container.replaceChildren(chart);
}

// How many rows fall in each group, in first-seen order.
export function countBy(rows, labelOf) {
  const counts = new Map();
  for (const row of rows) {
    const label = labelOf(row);
    counts.set(label, (counts.get(label) || 0) + 1);
  }
  return [...counts.entries()];
}
