// A small SVG charting library for the dashboard (no dependency): `SwitchyardChart.chart(title,
// legend, data, series, format)` draws bars and lines over time slots, a y axis from zero to
// the largest value with three gridlines, the first, middle and last slot's time (UTC), and a
// caption with the legend. `data`: the slots, each `{start}` (Unix ms); `series`: each
// `{kind: "bar" | "line", color, values}`, one value a slot (`null`: a gap in a line);
// `legend`: `[cssClass, name]` pairs (the caption's keys get class `key k-<cssClass>`);
// `format`: a y value as axis text. Returns a `<figure data-chart=title>`. Also
// `SwitchyardChart.el(tag, attrs, text)`: the element maker it uses (`svg:` tags in SVG's
// namespace).
"use strict";

const SwitchyardChart = (() => {
  const SVG = "http://www.w3.org/2000/svg";

  function el(tag, attrs = {}, text) {
    const node = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function chart(title, legend, data, series, format) {
    const W = 420, H = 150, L = 60, R = 8, T = 8, B = 20;
    const max = Math.max(1e-12, ...series.flatMap((s) => s.values.filter((v) => v !== null)));
    const x = (i) => L + ((W - L - R) * i) / data.length;
    const y = (v) => T + (H - T - B) * (1 - v / max);
    const bw = Math.max(1, (W - L - R) / data.length - 1);
    const svg = el("svg:svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
    for (const f of [0, 0.5, 1]) {
      svg.append(el("svg:line", { x1: L, x2: W - R, y1: y(max * f), y2: y(max * f), stroke: "#eaecf0" }));
      svg.append(el("svg:text", { x: L - 4, y: y(max * f) + 3, "text-anchor": "end" }, format(max * f)));
    }
    for (const s of series) {
      if (s.kind === "bar") {
        s.values.forEach((v, i) => {
          if (v > 0) svg.append(el("svg:rect", { x: x(i), y: y(v), width: bw, height: y(0) - y(v), fill: s.color }));
        });
      } else {
        let d = "";
        s.values.forEach((v, i) => {
          if (v === null) return;
          d += `${d && s.values[i - 1] !== null ? "L" : "M"}${(x(i) + bw / 2).toFixed(1)},${y(v).toFixed(1)}`;
          svg.append(el("svg:circle", { cx: x(i) + bw / 2, cy: y(v), r: 1.8, fill: s.color }));
        });
        if (d) svg.append(el("svg:path", { d, fill: "none", stroke: s.color, "stroke-width": 1.5 }));
      }
    }
    const label = (i) => new Date(data[i].start).toISOString().slice(11, 16);
    const ends = [[0, "start"], [Math.floor(data.length / 2), "middle"], [data.length - 1, "end"]];
    for (const [i, anchor] of ends) {
      svg.append(el("svg:text", { x: x(i) + (anchor === "end" ? bw : 0), y: H - 6, "text-anchor": anchor }, label(i)));
    }
    const cap = el("figcaption", {}, title);
    for (const [cls, name] of legend) {
      cap.append(el("span", { class: "key k-" + cls }), document.createTextNode(name));
    }
    const fig = el("figure", { "data-chart": title });
    fig.append(cap, svg);
    return fig;
  }

  return { chart, el };
})();
