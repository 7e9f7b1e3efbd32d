// Small SVG charts drawn here: a line chart of several series and a bar chart. No library needed.
const NS = 'http://www.w3.org/2000/svg';
let W = 420;
const H = 150;
/** Draw at the container's own width, so text keeps its size whatever the column. */
export const setWidth = (px) => (W = Math.max(240, Math.round(px)));
const label = (v) => v.toLocaleString('de-DE', { maximumFractionDigits: 1 });
const PAD = { l: 34, r: 8, t: 8, b: 20 };

function svg(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A rounded-up maximum for the axis: 1, 2, 5 × 10^n. */
function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function frame(maxY, samples, name) {
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'chart-svg', role: 'img', 'aria-label': name });
  const y = (v) => PAD.t + (H - PAD.t - PAD.b) * (1 - v / maxY);
  for (const f of [0, 0.5, 1]) {
    root.append(svg('line', { x1: PAD.l, x2: W - PAD.r, y1: y(maxY * f), y2: y(maxY * f), class: 'grid-line' }));
    root.append(svg('text', { x: PAD.l - 4, y: y(maxY * f) + 3, class: 'axis', 'text-anchor': 'end' }, label(maxY * f)));
  }
  const t0 = samples[0]?.t ?? 0;
  const t1 = samples.at(-1)?.t ?? 0;
  const time = (t) => new Date(t).toLocaleTimeString('de-DE', { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Berlin' });
  if (samples.length > 0) {
    root.append(svg('text', { x: PAD.l, y: H - 5, class: 'axis' }, time(t0)));
    root.append(svg('text', { x: W - PAD.r, y: H - 5, class: 'axis', 'text-anchor': 'end' }, time(t1)));
  }
  return { root, y };
}

/** Lines, one per series key, over the samples' times (the last hour). */
export function lineChart(samples, series, name) {
  const maxY = niceMax(Math.max(0, ...samples.flatMap((s) => series.map((k) => s.depth[k.key] ?? 0))));
  const { root, y } = frame(maxY, samples, name);
  const span = Math.max(1, (samples.at(-1)?.t ?? 0) - (samples[0]?.t ?? 0));
  const x = (t) => (samples.length < 2 ? (PAD.l + W - PAD.r) / 2 : PAD.l + ((W - PAD.l - PAD.r) * (t - samples[0].t)) / span);
  for (const k of series) {
    const pts = samples.map((s) => `${x(s.t).toFixed(1)},${y(s.depth[k.key] ?? 0).toFixed(1)}`);
    if (pts.length > 1) root.append(svg('polyline', { points: pts.join(' '), class: `series ${k.cls}` }));
    for (const s of samples.slice(-1)) root.append(svg('circle', { cx: x(s.t), cy: y(s.depth[k.key] ?? 0), r: 2.5, class: `dot ${k.cls}` }));
  }
  return root;
}

/** Bars, one per minute. */
export function barChart(samples, name) {
  const maxY = niceMax(Math.max(0, ...samples.map((s) => s.events)));
  const { root, y } = frame(maxY, samples, name);
  const slots = 60;
  const bw = (W - PAD.l - PAD.r) / slots;
  const last = samples.at(-1)?.t ?? 0;
  for (const s of samples) {
    const slot = slots - 1 - Math.round((last - s.t) / 60000);
    if (slot < 0) continue;
    const top = y(s.events);
    root.append(svg('rect', { x: PAD.l + slot * bw + 0.5, y: top, width: Math.max(1, bw - 1), height: Math.max(0, H - PAD.b - top), class: 'bar' }));
  }
  return root;
}
