// Small DOM helpers. Text always goes in as text (textContent), never as
// HTML: message bodies and screen rows come from agents.

/** el('span', {class: 'x', data: {id: '1'}, title: 't'}, 'text', child) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'data') Object.assign(node.dataset, value);
    else if (key === 'on') for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
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
    node.textContent = result.message;
    node.dataset.ok = 'false';
  } else {
    node.textContent = result;
    node.dataset.ok = 'true';
  }
}
