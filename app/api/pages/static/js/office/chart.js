// A bar chart as inline SVG, drawn here: no chart library, nothing fetched.
const SVG = "http://www.w3.org/2000/svg";
const BAR_HEIGHT = 22;
const GAP = 6;
const MIN_WIDTH = 280;
const drawn = new WeakMap(); // container -> what it shows, redrawn at its new width on resize
const resized = new ResizeObserver((entries) => {
  for (const { target } of entries) {
    const chart = drawn.get(target);
    if (chart && chart.width !== target.clientWidth) barChart(target, chart.counts, chart.description);
  }
});

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// counts: [[label, number], ...]; one horizontal bar each, its number at its end. Drawn at the
// container's width, so the text stays at its CSS size on a phone as on a desktop.
export function barChart(container, counts, description) {
  const width = Math.max(MIN_WIDTH, container.clientWidth);
  drawn.set(container, { counts, description, width: container.clientWidth });
  resized.observe(container);
  if (counts.length === 0) {
    const empty = document.createElement("p");
    empty.className = "empty";
    empty.textContent = "No check-ins to chart.";
    container.replaceChildren(empty);
    return;
  }
  const height = counts.length * (BAR_HEIGHT + GAP) + GAP;
  const most = Math.max(...counts.map(([, n]) => n));
  const labelWidth = Math.min(160, Math.round(width * 0.38));
  const room = width - labelWidth - 40;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": description });
  counts.forEach(([label, n], i) => {
    const y = GAP + i * (BAR_HEIGHT + GAP);
    const fits = Math.floor(labelWidth / 7.5); // characters of 13 px text
    const shown = label.length > fits ? `${label.slice(0, fits - 1)}…` : label;
    chart.append(
      svg("text", { x: labelWidth - 6, y: y + BAR_HEIGHT * 0.7, "text-anchor": "end" }, shown),
      svg("rect", { class: "bar", x: labelWidth, y, height: BAR_HEIGHT, width: Math.max(2, (room * n) / most), rx: 3 }),
      svg("text", { x: labelWidth + (room * n) / most + 6, y: y + BAR_HEIGHT * 0.7 }, String(n)),
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
