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

/** Columns and rows of FONT_SIZE monospace cells that fit in `box`. */
function fit(box) {
  const probe = el('span', { class: 'cell-probe' }, 'W'.repeat(40));
  document.body.append(probe);
  const rect = probe.getBoundingClientRect();
  probe.remove();
  const cell = { w: rect.width / 40 || 8, h: rect.height || 16 };
  return {
    cols: Math.max(20, Math.floor((box.clientWidth - 12) / cell.w)),
    rows: Math.max(5, Math.floor((box.clientHeight - 8) / cell.h)),
  };
}

export class TerminalPane {
  constructor(container, agent, { readOnly, onClose }) {
    this.agent = agent;
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
          type: 'button', class: 'fit', title: "resize the agent's terminal to this pane",
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

  resizeToPane() {
    if (!this.writable || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    const { rows, cols } = fit(this.screenBox);
    this.ws.send(JSON.stringify({ type: 'resize', rows, cols }));
    this.term.resize(cols, rows);
  }

  focus() {
    this.term.focus();
  }

  close() {
    this.closed = true;
    if (this.ws) this.ws.close();
    this.term.dispose();
    this.node.remove();
    this.onClose(this);
  }
}

/** The grid of panes: one interactive and one read-only pane per agent at most. */
export class Panes {
  constructor(container) {
    this.container = container;
    this.panes = new Map();
  }

  key(agent, readOnly) {
    return `${agent}\u0000${readOnly}`;
  }

  open(agent, { readOnly = false } = {}) {
    const key = this.key(agent, readOnly);
    const existing = this.panes.get(key);
    if (existing) {
      existing.focus();
      return existing;
    }
    const pane = new TerminalPane(this.container, agent, {
      readOnly,
      onClose: () => this.panes.delete(key),
    });
    this.panes.set(key, pane);
    return pane;
  }

  /** Closes the panes of agents that are gone. */
  keepOnly(agents) {
    const names = new Set(agents);
    for (const pane of [...this.panes.values()]) {
      if (!names.has(pane.agent)) pane.close();
    }
  }
}
