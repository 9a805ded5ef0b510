// Live terminal panes: xterm.js on GET /v1/agents/{name}/terminal, a
// WebSocket on this page's own origin (the session cookie goes with it; the
// broker checks the Origin).
//
// Protocol. Server: TEXT {"type":"hello","agent","rows","cols","writable"},
// then a BINARY frame with the current screen as escape sequences, then
// BINARY frames of live output; TEXT {"type":"resync"} is followed by a
// fresh BINARY screen (the terminal is reset first); TEXT {"type":"exit",…};
// TEXT {"type":"error","code","message"}. Client: BINARY frames of input
// bytes (xterm's onData/onBinary); TEXT {"type":"resize","rows","cols"}.
// A read-only pane (`?read_only=1`) never sends input, and its xterm takes
// no keys.

import { seg, wsUrl } from './api.js';
import { el } from './dom.js';

const FONT_SIZE = 13;
const encoder = new TextEncoder();

const MIN_FONT_SIZE = 6;
let cellRatio = null;

/** Width and height of a monospace cell per pixel of font size (measured once). */
function cell() {
  if (!cellRatio) {
    const probe = el('span', { class: 'cell-probe' }, 'W'.repeat(40));
    document.body.append(probe);
    const rect = probe.getBoundingClientRect();
    probe.remove();
    // The probe is drawn at 100px (see .cell-probe in app.css).
    cellRatio = { w: rect.width / 40 / 100 || 0.6, h: rect.height / 100 || 1.2 };
  }
  return cellRatio;
}

/** The font size at which `cols` columns fit in `width` pixels: the whole
 * screen is seen at once, like a tmux pane, never above FONT_SIZE. */
function fontFor(width, cols) {
  const size = Math.floor(width / (cols * cell().w));
  return Math.max(MIN_FONT_SIZE, Math.min(FONT_SIZE, size));
}

export class TerminalPane {
  constructor(container, agent, { readOnly, onClose }) {
    this.agent = agent;
    this.kind = 'terminal';
    this.readOnly = readOnly;
    this.onClose = onClose;
    this.writable = false;
    this.closed = false;
    this.exited = false;
    this.backoff = 250;
    this.status = el('span', { class: 'pane-status muted' }, 'connecting…');
    this.screenBox = el('div', { class: 'pane-screen' });
    this.node = el('div', { class: 'pane', data: { agent, readOnly: String(readOnly), writable: 'false' } },
      el('div', { class: 'pane-head' },
        el('strong', {}, agent),
        el('span', { class: `badge ${readOnly ? 'ro' : 'rw'}` }, readOnly ? 'read-only' : 'interactive'),
        this.status,
        el('span', { class: 'spacer' }),
        readOnly ? null : el('button', {
          type: 'button', class: 'fit', title: "resize the agent's terminal to this pane's width",
          on: { click: () => this.resizeToPane() },
        }, 'fit'),
        el('button', { type: 'button', class: 'close', title: 'close this pane', on: { click: () => this.close() } }, '×')),
      this.screenBox);
    container.append(this.node);
    this.term = new globalThis.Terminal({
      fontSize: FONT_SIZE,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace',
      disableStdin: readOnly,
      cursorBlink: !readOnly,
      scrollback: 1000,
      convertEol: false,
    });
    this.term.open(this.screenBox);
    this.resizer = new ResizeObserver(() => this.scale());
    this.resizer.observe(this.screenBox);
    this.term.onData((data) => this.input(encoder.encode(data)));
    this.term.onBinary((data) => this.input(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
    this.connect();
  }

  setStatus(text, state) {
    this.status.textContent = text;
    this.node.dataset.status = state;
  }

  connect() {
    const query = this.readOnly ? '?read_only=1' : '';
    const ws = new WebSocket(wsUrl(`/v1/agents/${seg(this.agent)}/terminal${query}`));
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.expectScreen = false;
    ws.onmessage = (message) => {
      if (typeof message.data === 'string') {
        this.control(message.data);
        return;
      }
      if (this.expectScreen) {
        this.term.reset();
        this.expectScreen = false;
      }
      this.term.write(new Uint8Array(message.data));
    };
    ws.onclose = (close) => {
      this.writable = false;
      this.node.dataset.writable = 'false';
      if (this.closed || this.exited) return;
      this.setStatus(`disconnected${close.reason ? `: ${close.reason}` : ''}; retrying…`, 'retrying');
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 5000);
    };
  }

  control(text) {
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      return;
    }
    switch (m.type) {
      case 'hello':
        this.backoff = 250;
        this.writable = Boolean(m.writable) && !this.readOnly;
        this.node.dataset.writable = String(this.writable);
        if (m.rows > 0 && m.cols > 0) this.term.resize(m.cols, m.rows);
        this.scale();
        this.expectScreen = true;
        this.setStatus(`${m.cols}×${m.rows}${this.writable ? '' : ', watching'}`, 'live');
        break;
      case 'resync':
        this.expectScreen = true;
        break;
      case 'exit':
        this.exited = true;
        this.setStatus(m.code !== undefined && m.code !== null ? `exited (code ${m.code})` : 'exited', 'exited');
        break;
      case 'error':
        this.setStatus(`error: ${m.message || m.code}`, 'error');
        break;
      default:
        break;
    }
  }

  input(bytes) {
    if (!this.writable || this.readOnly || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(bytes);
  }

  /** Shrinks the font until every column fits the pane's width. */
  scale() {
    const size = fontFor(this.screenBox.clientWidth - 8, this.term.cols);
    if (size !== this.term.options.fontSize) this.term.options.fontSize = size;
  }

  /** Resizes the agent's terminal to as many columns as fit this pane at
   * the normal font size (the rows stay). */
  resizeToPane() {
    if (!this.writable || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const cols = Math.max(20, Math.floor((this.screenBox.clientWidth - 8) / (FONT_SIZE * cell().w)));
    const rows = this.term.rows;
    this.ws.send(JSON.stringify({ type: 'resize', rows, cols }));
    this.term.resize(cols, rows);
    this.scale();
  }

  focus() {
    this.term.focus();
  }

  close() {
    this.closed = true;
    this.resizer.disconnect();
    if (this.ws) this.ws.close();
    this.term.dispose();
    this.node.remove();
    this.onClose(this);
  }
}
