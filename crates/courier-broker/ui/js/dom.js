// Small DOM helpers. Text always goes in as text (textContent), never as
// HTML: message bodies and screen rows come from agents. And text always
// goes in through visible(): a bidi override or an invisible character in a
// body or a name would make it read as something else (Trojan Source).

// Controls (but newline and tab), format characters (bidi controls,
// zero-width characters, tags), fillers that draw nothing, and the line and
// paragraph separators: the characters courier_core::display shows escaped.
const HIDDEN = /[\p{Cc}\p{Cf}\u034f\u115f\u1160\u17b4\u17b5\u2065\u3164\uffa0\ufff0-\ufff8\u2028\u2029\u{e0000}-\u{e00ff}\u{e01f0}-\u{e0fff}]/u;
// A zero-width joiner between two of these stays: it joins an emoji.
const PICTOGRAPH = /^\p{So}$/u;
// Looked past when finding what a joiner follows (variation selectors,
// skin-tone modifiers).
const STYLE = /^[\ufe00-\ufe0f\u{e0100}-\u{e01ef}\u{1f3fb}-\u{1f3ff}]$/u;

/** `text` with each hidden character written as `\u{202e}`. */
export function visible(text) {
  const s = String(text);
  if (!HIDDEN.test(s)) return s;
  const chars = Array.from(s);
  let out = '';
  let before = '';
  chars.forEach((c, i) => {
    const after = chars[i + 1] ?? '';
    const keep = c === '\n' || c === '\t' || (c === '\r' && after === '\n') || !HIDDEN.test(c)
      || (c === '\u200d' && PICTOGRAPH.test(before) && PICTOGRAPH.test(after));
    out += keep ? c : `\\u{${c.codePointAt(0).toString(16)}}`;
    if (!STYLE.test(c)) before = c;
  });
  return out;
}

/** el('span', {class: 'x', data: {id: '1'}, title: 't'}, 'text', child) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'data') Object.assign(node.dataset, value);
    else if (key === 'on') for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else if (key === 'title') node.title = visible(value);
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : visible(child));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** Runs fn at most once per `ms`, after the last call (trailing). */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** 2024-05-01T12:00:01.123Z -> 12:00:01 (local time). */
export function clock(time) {
  const d = new Date(time);
  return Number.isNaN(d.getTime()) ? '' : d.toLocaleTimeString([], { hour12: false });
}

/** Shows a result line: ok text, or an error's message. */
export function report(node, result) {
  node.hidden = false;
  if (result instanceof Error) {
    node.textContent = visible(result.message);
    node.dataset.ok = 'false';
  } else {
    node.textContent = visible(result);
    node.dataset.ok = 'true';
  }
}
