/**
 * Builds elements from data without ever parsing it as markup: every text
 * a ticket brings (subjects are the desks' words) goes in as textContent.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function replace(target, ...children) {
  target.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/** A table with a header row; `rows` are arrays of cells (nodes or text). */
export function table(headers, rows, opts = {}) {
  return h('table', { class: opts.class ?? 'data' },
    h('thead', {}, h('tr', {}, headers.map((c, i) => h('th', { class: opts.numeric?.includes(i) ? 'num' : undefined }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => h('td', { class: opts.numeric?.includes(i) ? 'num' : undefined }, c))))),
  );
}
