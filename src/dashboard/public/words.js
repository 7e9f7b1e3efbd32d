/** Looks up a dotted path (`panels.lands`) in the words. */
export function word(words, path) {
  return path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), words);
}

/** Fills every element with `data-t="path"` with its words. */
export function applyWords(root, words) {
  for (const el of root.querySelectorAll('[data-t]')) {
    const w = word(words, el.dataset.t);
    if (typeof w === 'string') el.textContent = w;
  }
}
