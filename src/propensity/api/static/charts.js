// Small SVG charts drawn from the service's JSON (no chart library: nothing loads from elsewhere).

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 360;
const HEIGHT = 260;
const MARGIN = { top: 16, right: 16, bottom: 44, left: 52 };
const COLOURS = ["#1f6feb", "#d9480f", "#2b8a3e", "#862e9c", "#e67700", "#0b7285", "#c2255c"];

function el(name, attributes = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function frame(title) {
  const svg = el("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    width: WIDTH,
    height: HEIGHT,
    role: "img",
    "aria-label": title,
    class: "chart",
  });
  svg.append(el("title", {}, title));
  return svg;
}

function scale(domain, range) {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0 || 1;
  return (value) => r0 + ((value - d0) / span) * (r1 - r0);
}

function ticks(min, max, count = 5) {
  const step = (max - min) / count;
  return Array.from({ length: count + 1 }, (_, i) => min + i * step);
}

function format(value) {
  if (Math.abs(value) >= 1000) return value.toFixed(0);
  if (Number.isInteger(value)) return String(value);
  return value.toFixed(2);
}

function axes(svg, x, y, xDomain, yDomain, xLabel, yLabel, xTickValues) {
  const bottom = HEIGHT - MARGIN.bottom;
  const group = el("g", { class: "axes" });
  group.append(el("line", { x1: MARGIN.left, y1: bottom, x2: WIDTH - MARGIN.right, y2: bottom }));
  group.append(el("line", { x1: MARGIN.left, y1: MARGIN.top, x2: MARGIN.left, y2: bottom }));
  for (const value of xTickValues || ticks(...xDomain)) {
    group.append(el("text", { x: x(value), y: bottom + 14, "text-anchor": "middle" }, format(value)));
  }
  for (const value of ticks(...yDomain)) {
    group.append(el("text", { x: MARGIN.left - 6, y: y(value) + 4, "text-anchor": "end" }, format(value)));
    group.append(
      el("line", { x1: MARGIN.left, y1: y(value), x2: WIDTH - MARGIN.right, y2: y(value), class: "grid" }),
    );
  }
  group.append(el("text", { x: (MARGIN.left + WIDTH - MARGIN.right) / 2, y: HEIGHT - 8, "text-anchor": "middle", class: "label" }, xLabel));
  group.append(
    el("text", { x: 14, y: (MARGIN.top + bottom) / 2, transform: `rotate(-90 14 ${(MARGIN.top + bottom) / 2})`, "text-anchor": "middle", class: "label" }, yLabel),
  );
  svg.append(group);
}

function legend(svg, entries) {
  entries.forEach(({ name, colour }, index) => {
    const y = MARGIN.top + 4 + index * 14;
    svg.append(el("rect", { x: WIDTH - MARGIN.right - 110, y: y - 8, width: 10, height: 10, fill: colour }));
    svg.append(el("text", { x: WIDTH - MARGIN.right - 96, y, class: "legend" }, name));
  });
}

function pathOf(points, x, y) {
  return points.map(([px, py], i) => `${i ? "L" : "M"}${x(px).toFixed(1)},${y(py).toFixed(1)}`).join("");
}

/**
 * Lines over a numeric x axis.
 * series: [{name, points: [[x, y], ...], dashed?, markers?: [{x, y, kind, label}]}]
 */
export function lineChart(title, series, { xLabel, yLabel, xDomain, yDomain, xTickValues } = {}) {
  const svg = frame(title);
  const all = series.flatMap((s) => s.points).filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
  const xd = xDomain || [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))];
  const yd = yDomain || [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))];
  const x = scale(xd, [MARGIN.left, WIDTH - MARGIN.right]);
  const y = scale(yd, [HEIGHT - MARGIN.bottom, MARGIN.top]);
  axes(svg, x, y, xd, yd, xLabel, yLabel, xTickValues);
  const colourOf = (s, index) => s.colour || COLOURS[index % COLOURS.length];
  series.forEach((s, index) => {
    const colour = colourOf(s, index);
    const points = s.points.filter(([px, py]) => Number.isFinite(px) && Number.isFinite(py));
    if (points.length) {
      svg.append(
        el("path", {
          d: pathOf(points, x, y),
          fill: "none",
          stroke: colour,
          "stroke-width": 2,
          "stroke-dasharray": s.dashed ? "4 4" : "none",
          class: "series",
          "data-series": s.name,
        }),
      );
    }
    for (const marker of s.markers || []) {
      if (!Number.isFinite(marker.y)) continue;
      const shape =
        marker.kind === "rejected"
          ? el("path", {
              d: `M${x(marker.x) - 4},${y(marker.y) - 4}l8,8m0,-8l-8,8`,
              stroke: "#c92a2a",
              "stroke-width": 2,
            })
          : el("circle", {
              cx: x(marker.x),
              cy: y(marker.y),
              r: marker.kind === "champion" ? 5 : 4,
              fill: marker.kind === "champion" ? "#2b8a3e" : colour,
              stroke: "#fff",
            });
      shape.setAttribute("class", `marker marker-${marker.kind}`);
      shape.append(el("title", {}, marker.label));
      svg.append(shape);
    }
  });
  legend(
    svg,
    series.map((s, index) => ({ name: s.name, colour: colourOf(s, index) })),
  );
  return svg;
}

/** Vertical bars: bars = [{label, value}]. */
export function barChart(title, bars, { yLabel } = {}) {
  const svg = frame(title);
  const max = Math.max(1, ...bars.map((b) => b.value));
  const y = scale([0, max], [HEIGHT - MARGIN.bottom, MARGIN.top]);
  const x = scale([0, bars.length], [MARGIN.left, WIDTH - MARGIN.right]);
  axes(svg, scale([0, 1], [MARGIN.left, WIDTH - MARGIN.right]), y, [0, 1], [0, max], "", yLabel);
  svg.querySelectorAll(".axes text:not(.label)").forEach((t, i) => {
    if (i < 6) t.remove(); // the placeholder x ticks: bars are labelled below instead
  });
  bars.forEach((bar, index) => {
    const left = x(index) + 12;
    const width = x(index + 1) - x(index) - 24;
    svg.append(
      el("rect", {
        x: left,
        y: y(bar.value),
        width,
        height: HEIGHT - MARGIN.bottom - y(bar.value),
        fill: COLOURS[index % COLOURS.length],
        class: "bar",
      }),
    );
    svg.append(el("text", { x: left + width / 2, y: y(bar.value) - 4, "text-anchor": "middle" }, String(bar.value)));
    svg.append(el("text", { x: left + width / 2, y: HEIGHT - MARGIN.bottom + 14, "text-anchor": "middle" }, bar.label));
  });
  return svg;
}

/** 2×2 confusion matrix as shaded cells. */
export function confusionMatrix(title, { tn, fp, fn, tp }, labels = ["0", "1"]) {
  const svg = frame(title);
  const cells = [
    [tn, fp],
    [fn, tp],
  ];
  const max = Math.max(1, tn, fp, fn, tp);
  const size = 86;
  const left = 120;
  const top = 40;
  svg.append(el("text", { x: left + size, y: 22, "text-anchor": "middle", class: "label" }, "predicted"));
  svg.append(el("text", { x: 18, y: top + size, transform: `rotate(-90 18 ${top + size})`, "text-anchor": "middle", class: "label" }, "actual"));
  labels.forEach((label, i) => {
    svg.append(el("text", { x: left + i * size + size / 2, y: top - 6, "text-anchor": "middle" }, label));
    svg.append(el("text", { x: left - 8, y: top + i * size + size / 2 + 4, "text-anchor": "end" }, label));
  });
  cells.forEach((row, r) =>
    row.forEach((value, c) => {
      const shade = 0.12 + 0.78 * (value / max);
      svg.append(
        el("rect", {
          x: left + c * size,
          y: top + r * size,
          width: size - 2,
          height: size - 2,
          fill: `rgba(31, 111, 235, ${shade.toFixed(2)})`,
          class: "cell",
        }),
      );
      svg.append(
        el("text", { x: left + c * size + size / 2, y: top + r * size + size / 2 + 5, "text-anchor": "middle", class: shade > 0.55 ? "cell-text light" : "cell-text" }, String(value)),
      );
    }),
  );
  return svg;
}
