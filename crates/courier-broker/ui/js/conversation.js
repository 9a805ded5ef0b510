// A headless agent's conversation pane, in the place of a terminal pane: a
// headless agent runs on pipes and is spoken to in its own protocol (ACP,
// Claude Code's stream-json), so it has no screen to mirror. The pane shows
// what the protocol carried — each prompt it got and from whom, its
// replies, its tool calls and its errors — in the order of the event log.
//
// It starts from GET /v1/agents/{name}/transcript (paged by seq) and follows
// the live event feed (main.js hands over every conversation_* event). Both
// go through add(), which keeps one entry per seq in seq order, so an event
// that comes from both is shown once and in its place. A tool call's updates
// (same tool_call_id) change its one entry. A send box under the log posts a
// message to the agent, like the page's send box.
//
// Everything an agent wrote goes in as text through el() (visible()).

import { get, seg } from './api.js';
import { sendMessage } from './compose.js';
import { clock, el, visible } from './dom.js';

const KINDS = new Set([
  'conversation_prompt', 'conversation_reply', 'conversation_tool_call', 'conversation_error',
]);
/** Events per transcript request. */
const PAGE = 1000;
/** Entries kept in the pane; older ones are dropped (the CLI has them all). */
const MAX_ENTRIES = 1000;

/** Whether `event` belongs in a conversation pane (of agent `event.name`). */
export function isConversationEvent(event) {
  return KINDS.has(event.type);
}

/** The message link shown on an entry: the last characters of its id. */
function shortId(id) {
  return String(id).slice(-8);
}

export class ConversationPane {
  /**
   * @param {HTMLElement} container
   * @param {string} agent
   * @param {{onClose: Function, from: () => string, onMessage: (id: string) => void}} opts
   *   from: the name to send as; onMessage: show a message in the timeline
   */
  constructor(container, agent, { onClose, from, onMessage }) {
    Object.assign(this, { agent, onClose, from, onMessage });
    this.kind = 'conversation';
    this.seen = new Set(); // the seqs shown
    this.tools = new Map(); // message/tool_call_id -> tool call
    this.floor = 0; // entries at or below this seq were dropped
    this.closed = false;
    this.status = el('span', { class: 'pane-status muted' }, 'loading…');
    this.log = el('ol', { class: 'conversation-log' });
    this.node = el('div', { class: 'pane conversation', data: { agent, kind: 'conversation', status: 'loading' } },
      el('div', { class: 'pane-head' },
        el('strong', {}, agent),
        el('span', { class: 'badge headless', title: 'no terminal: spoken to in its own protocol' }, 'headless'),
        this.status,
        el('span', { class: 'spacer' }),
        el('button', { type: 'button', class: 'close', title: 'close this pane', on: { click: () => this.close() } }, '×')),
      this.log,
      this.sendBox());
    container.append(this.node);
    this.load();
  }

  sendBox() {
    this.input = el('textarea', {
      name: 'body', rows: 2, required: true, placeholder: `message to ${this.agent} (Ctrl+Enter sends)`,
    });
    this.result = el('span', { class: 'result' });
    const button = el('button', { type: 'submit' }, 'Send');
    const send = async () => {
      const message = { from: this.from(), to: this.agent, body: this.input.value };
      if (await sendMessage(message, button, this.result)) this.input.value = '';
    };
    this.input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        send();
      }
    });
    return el('form', { class: 'conversation-send', on: { submit: (e) => { e.preventDefault(); send(); } } },
      this.input, button, this.result);
  }

  /** Reads the whole transcript (again after a gap in the feed: what is
   * already shown stays, by seq). */
  async load() {
    let since = this.floor;
    try {
      for (;;) {
        const page = await get(`/v1/agents/${seg(this.agent)}/transcript?since=${since}&limit=${PAGE}`);
        if (this.closed) return;
        const events = page.events || [];
        events.forEach((e) => this.add(e));
        if (events.length < PAGE) break;
        since = events[events.length - 1].seq;
      }
      this.node.dataset.status = 'live';
      this.setState(this.state);
    } catch (e) {
      this.node.dataset.status = 'error';
      this.status.textContent = visible(`transcript unavailable: ${e.message}`);
    }
  }

  /** Shows the agent's state as the broker serves it (idle, busy, …). */
  setState(state) {
    this.state = state;
    if (this.node.dataset.status !== 'live') return;
    const shown = state === 'busy' ? 'busy: a turn is running' : (state || 'live');
    this.status.textContent = visible(shown);
  }

  /** One conversation_* event of this agent, from the transcript or the feed. */
  add(event) {
    const { seq } = event;
    if (typeof seq !== 'number' || seq <= this.floor || this.seen.has(seq)) return;
    this.seen.add(seq);
    const stick = this.atBottom();
    if (event.type === 'conversation_tool_call') {
      this.toolCall(event);
    } else {
      this.place(seq, this.entry(event));
    }
    this.trim();
    if (stick) this.log.scrollTop = this.log.scrollHeight;
  }

  atBottom() {
    return this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 24;
  }

  /** Puts `node` at its seq's place (usually the end). */
  place(seq, node) {
    node.dataset.seq = String(seq);
    let after = this.log.lastElementChild;
    while (after && Number(after.dataset.seq) > seq) after = after.previousElementSibling;
    if (after) after.after(node);
    else this.log.prepend(node);
  }

  /** A tool call's first report makes its entry; later ones (a status,
   * a title) change it, the newest winning whatever order they came in. */
  toolCall(event) {
    const key = `${event.message_id || ''}/${event.tool_call_id}`;
    let call = this.tools.get(key);
    if (!call) {
      call = { first: event.seq, last: 0, title: null, status: null, event, node: null };
      this.tools.set(key, call);
    }
    const newer = event.seq > call.last;
    call.title = (newer ? event.title : call.title) ?? call.title ?? event.title ?? null;
    call.status = (newer ? event.status : call.status) ?? call.status ?? event.status ?? null;
    call.last = Math.max(call.last, event.seq);
    const moved = event.seq < call.first;
    call.first = Math.min(call.first, event.seq);
    const node = this.entry({ ...event, title: call.title, status: call.status });
    if (call.node && !moved) {
      node.dataset.seq = call.node.dataset.seq;
      call.node.replaceWith(node);
    } else {
      if (call.node) call.node.remove();
      this.place(call.first, node);
    }
    call.node = node;
  }

  /** The list item for one event. */
  entry(event) {
    const head = (who, ...rest) => el('div', { class: 'conv-head' },
      el('span', { class: 'time' }, clock(event.time)), el('span', { class: 'who' }, who), ...rest);
    const link = event.message_id ? el('a', {
      class: 'msg-link', href: '#', title: `message ${event.message_id}`,
      on: { click: (e) => { e.preventDefault(); this.onMessage(event.message_id); } },
    }, `msg ${shortId(event.message_id)}`) : null;
    const item = (kind, ...children) => el('li', {
      class: `conv conv-${kind}`, data: { kind, messageId: event.message_id || '' },
    }, ...children);
    switch (event.type) {
      case 'conversation_prompt':
        return item('prompt', head(`${event.from} → ${this.agent}`, link), el('pre', { class: 'text' }, event.text));
      case 'conversation_reply':
        return item('reply', head(this.agent, el('span', { class: 'muted' }, 'replied'), link),
          el('pre', { class: 'text' }, event.text || '(no text)'));
      case 'conversation_tool_call':
        return item('tool_call', head(`tool: ${event.title || event.tool_call_id}`,
          event.status ? el('span', { class: `tool-status tool-${event.status}` }, event.status) : null, link));
      default:
        return item('error', head('error', link), el('pre', { class: 'text' }, event.error));
    }
  }

  /** Keeps the newest MAX_ENTRIES entries. */
  trim() {
    if (this.log.childElementCount <= MAX_ENTRIES) return;
    while (this.log.childElementCount > MAX_ENTRIES) {
      this.floor = Math.max(this.floor, Number(this.log.firstElementChild.dataset.seq));
      this.log.firstElementChild.remove();
    }
    for (const seq of this.seen) if (seq <= this.floor) this.seen.delete(seq);
    for (const [key, call] of this.tools) if (!call.node.isConnected) this.tools.delete(key);
  }

  focus() {
    this.input.focus();
  }

  close() {
    this.closed = true;
    this.node.remove();
    this.onClose(this);
  }
}
