// Hand-made inline SVG charts for the managers' pages (no library): horizontal bars and
// lines. Each chart says its numbers in its aria-label and in a <title> per bar or point;
// the page puts a table with the same numbers beside it.

import { h } from "../dom.js";

const SVG = "http://www.w3.org/2000/svg";

function s(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) element.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return element;
}

const WIDTH = 640;
const LABEL = 220;
const ROW = 24;

/**
 * Horizontal bars, one per item.
 * @param {object} spec
 * @param {string} spec.id       the figure's element id
 * @param {string} spec.caption  what the chart shows
 * @param {Array<{label: string, value: number, text?: string}>} spec.items
 * @param {number} [spec.max]    the value of a full bar (default: the largest)
 */
export function bars({ id, caption, items, max }) {
  const top = max ?? Math.max(0, ...items.map((item) => item.value));
  const room = WIDTH - LABEL - 110;
  const height = Math.max(1, items.length) * ROW + 8;
  const said = items.map((item) => `${item.label}: ${item.text ?? item.value}`).join("; ");
  const svg = s(
    "svg",
    {
      viewBox: `0 0 ${WIDTH} ${height}`,
      width: "100%",
      role: "img",
      "aria-label": `${caption}. ${said}`,
      class: "chart bars",
    },
    items.map((item, index) => {
      const y = 4 + index * ROW;
      const length = top > 0 ? Math.max(0, (item.value / top) * room) : 0;
      return s(
        "g",
        { class: "bar", "data-label": item.label, "data-value": item.value },
        s("title", {}, `${item.label}: ${item.text ?? item.value}`),
        s("text", { x: LABEL - 6, y: y + ROW / 2 + 4, "text-anchor": "end", class: "label" }, item.label),
        s("rect", { x: LABEL, y: y + 3, width: length.toFixed(1), height: ROW - 6, rx: 2 }),
        s("text", { x: LABEL + length + 6, y: y + ROW / 2 + 4, class: "value" }, item.text ?? String(item.value)),
      );
    }),
  );
  return h("figure", { id, className: "chart" }, h("figcaption", {}, caption), svg);
}

/**
 * Lines over the same points (months), one per series, each on its own scale from zero.
 * @param {object} spec
 * @param {string} spec.id
 * @param {string} spec.caption
 * @param {string[]} spec.points   the labels along the axis
 * @param {Array<{name: string, values: Array<number|null>, texts?: string[]}>} spec.series
 */
export function lines({ id, caption, points, series }) {
  const height = 200;
  const left = 40;
  const right = WIDTH - 40;
  const every = Math.max(1, Math.ceil(points.length / 8));
  const bottom = height - 30;
  const step = points.length > 1 ? (right - left) / (points.length - 1) : 0;
  const x = (index) => left + index * step;
  const said = series
    .map((line) => `${line.name}: ${points.map((p, i) => `${p} ${line.texts ? line.texts[i] : (line.values[i] ?? "—")}`).join(", ")}`)
    .join("; ");
  const drawn = series.map((line, which) => {
    const top = Math.max(0, ...line.values.filter((v) => v !== null));
    const y = (value) => bottom - (top > 0 ? (value / top) * (bottom - 10) : 0);
    const known = line.values.map((value, index) => [value, index]).filter(([value]) => value !== null);
    return s(
      "g",
      { class: `line series-${which}`, "data-series": line.name },
      s("polyline", { points: known.map(([value, index]) => `${x(index).toFixed(1)},${y(value).toFixed(1)}`).join(" "), fill: "none" }),
      known.map(([value, index]) =>
        s(
          "circle",
          { cx: x(index).toFixed(1), cy: y(value).toFixed(1), r: 3, "data-point": points[index], "data-value": value },
          s("title", {}, `${line.name} ${points[index]}: ${line.texts ? line.texts[index] : value}`),
        ),
      ),
    );
  });
  const svg = s(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${height}`, width: "100%", role: "img", "aria-label": `${caption}. ${said}`, class: "chart lines" },
    s("line", { x1: left, y1: bottom, x2: right, y2: bottom, class: "axis" }),
    // At most about eight labels along the axis, counted back from the last.
    points.map((point, index) =>
      (points.length - 1 - index) % every === 0
        ? s("text", { x: x(index).toFixed(1), y: height - 10, "text-anchor": "middle", class: "label" }, point)
        : null,
    ),
    drawn,
  );
  const legend = h(
    "ul",
    { className: "legend" },
    series.map((line, which) => h("li", { className: `series-${which}` }, line.name)),
  );
  return h("figure", { id, className: "chart" }, h("figcaption", {}, caption), svg, legend);
}
