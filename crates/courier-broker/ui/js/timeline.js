// The message timeline: one entry per message, newest first, with a chip per
// delivery whose state follows the event log as it arrives (queued,
// injecting, injected, verified, unverified + reason, read, dropped, dead;
// stuck is a mark on top; a served agent's screen witness, shown or not, a
// note). Bodies and deliveries the events did not show
// (a message older than the replayed window) come from GET /v1/messages/{id}.
// A message that got a reply (`message_replied`: a headless agent's answer
// to the turn the message started, or a message sent in its thread) shows
// each reply under it, read from the same GET; a reply that is a message
// links to it. Filters: agent (sender or recipient), channel, thread.

import { get, seg } from './api.js';
import { el, clear, clock } from './dom.js';

const MAX_MESSAGES = 300;
const BODY_PREVIEW = 600;
const REPLY_PREVIEW = 300;

/** Whether a delivery_verified event proves its delivery: the screen's
 * echo, or a native channel's protocol (a headless agent's turn). The
 * other verification, `timeout_fallback`, is the unverified end. */
export function proven(event) {
  return event.verification === 'echo' || event.verification === 'protocol';
}

/** What each delivery event does to its delivery. */
function patchFor(event) {
  switch (event.type) {
    case 'delivery_queued':
      return { state: 'queued', reason: event.attempt > 1 ? `attempt ${event.attempt}` : null };
    case 'delivery_injecting':
      return { state: 'injecting', reason: null };
    case 'delivery_injected':
      return { state: 'injected', reason: null };
    case 'delivery_verified':
      return proven(event)
        ? { state: 'verified', reason: null, screen: null }
        : { state: 'unverified', reason: event.reason, screen: event.screen || null };
    case 'delivery_retry':
      return { state: 'queued', reason: `retry: ${event.reason}` };
    case 'delivery_dead':
      return { state: 'dead', reason: event.reason };
    case 'delivery_replayed':
      return { state: 'queued', reason: 'replayed', stuck: null };
    case 'delivery_read':
      return { state: 'read', channel: event.channel, stuck: null };
    case 'delivery_stuck':
      return { stuck: event.reason, screen: event.screen || null };
    case 'delivery_on_screen':
      // A served agent's TUI, the second witness beside its protocol.
      return { onScreen: event.shown ? 'shown on its screen' : 'not shown on its screen',
        screen: event.shown ? null : (event.screen || null) };
    default:
      return null;
  }
}

export class Timeline {
  /**
   * @param {HTMLOListElement} list
   * @param {{agent: HTMLSelectElement, channel: HTMLSelectElement, thread: HTMLInputElement}} filters
   * @param {(messageId: string) => void} onReply
   */
  constructor(list, filters, onReply) {
    this.list = list;
    this.filters = filters;
    this.onReply = onReply;
    this.messages = new Map();
    this.fetching = new Set();
    this.fetchingReplies = new Set();
    for (const input of Object.values(filters)) {
      input.addEventListener('input', () => this.applyFilters());
    }
  }

  /** One event from the feed, in seq order. */
  apply(event) {
    if (event.type === 'gap') {
      // Events were pruned before this client saw them: read each message
      // it shows again, so no state is left behind.
      for (const m of this.messages.values()) this.fetch(m, true);
      return;
    }
    if (event.type === 'message_accepted') {
      const m = this.message(event.message_id);
      Object.assign(m, { from: event.from, to: String(event.to), thread: event.thread || null, time: event.time });
      this.fetch(m);
      this.render(m);
      return;
    }
    if (event.type === 'message_replied') {
      const m = this.message(event.message_id);
      m.replied = true;
      if (!m.from) this.fetch(m); // a message before the replayed window
      this.fetchReplies(m);
      this.render(m);
      return;
    }
    if (event.type === 'delivery_dropped') {
      for (const d of event.dropped || []) {
        this.patch({ delivery_id: d.delivery_id, message_id: d.message_id, agent: event.name, seq: event.seq },
          { state: 'dropped', reason: event.reason });
      }
      return;
    }
    const patch = patchFor(event);
    if (patch && event.delivery_id && event.message_id) this.patch(event, patch);
  }

  message(id) {
    let m = this.messages.get(id);
    if (!m) {
      m = {
        id, from: null, to: null, thread: null, time: null, body: null, deliveries: new Map(), node: null,
        replied: false, replies: [],
      };
      this.messages.set(id, m);
      this.trim();
    }
    return m;
  }

  patch(event, patch) {
    const m = this.message(event.message_id);
    let d = m.deliveries.get(event.delivery_id);
    if (!d) {
      d = { id: event.delivery_id, agent: event.agent, state: 'queued', reason: null, stuck: null, screen: null };
      m.deliveries.set(d.id, d);
    }
    Object.assign(d, patch, { seq: event.seq });
    if (!m.from) this.fetch(m);
    this.render(m);
  }

  /** Fills in the body and the deliveries no event has shown yet (all of
   * them with `again`, after a gap in the events). */
  async fetch(m, again = false) {
    if ((m.body !== null && !again) || this.fetching.has(m.id)) return;
    this.fetching.add(m.id);
    try {
      const v = await get(`/v1/messages/${seg(m.id)}`);
      const msg = v.message;
      Object.assign(m, { from: msg.from, to: String(msg.to), thread: msg.thread || null, body: msg.body });
      m.time = m.time || msg.created_at;
      this.takeReplies(m, v.replies);
      for (const d of v.deliveries || []) {
        if (m.deliveries.has(d.id) && !again) continue; // the events know better
        m.deliveries.set(d.id, {
          id: d.id, agent: d.agent, state: d.state, reason: d.reason, stuck: null, screen: null,
        });
      }
      if (this.messages.has(m.id)) this.render(m);
    } catch (e) {
      m.body = m.body ?? `(body unavailable: ${e.message})`;
      if (this.messages.has(m.id)) this.render(m);
    } finally {
      this.fetching.delete(m.id);
    }
  }

  /** Reads a message's replies again after a `message_replied`; one read
   * at a time per message, and one more if another came meanwhile. */
  async fetchReplies(m) {
    m.repliesStale = true;
    if (this.fetchingReplies.has(m.id)) return;
    this.fetchingReplies.add(m.id);
    try {
      while (m.repliesStale) {
        m.repliesStale = false;
        this.takeReplies(m, (await get(`/v1/messages/${seg(m.id)}`)).replies);
      }
    } catch (e) {
      m.repliesError = e.message;
    } finally {
      this.fetchingReplies.delete(m.id);
    }
    if (this.messages.has(m.id)) this.render(m);
  }

  /** Replies only grow: a read that started before a reply was committed
   * never takes away one a later read showed. */
  takeReplies(m, replies) {
    if (Array.isArray(replies) && replies.length >= m.replies.length) {
      m.replies = replies;
      m.repliesError = null;
    }
    if (m.replies.length) m.replied = true;
  }

  /** Keeps the newest MAX_MESSAGES. */
  trim() {
    while (this.messages.size > MAX_MESSAGES) {
      const [oldest, m] = this.messages.entries().next().value;
      if (m.node) m.node.remove();
      this.messages.delete(oldest);
    }
  }

  render(m) {
    const chips = [...m.deliveries.values()].map((d) => {
      const label = d.stuck ? `${d.agent}: ${d.state} (stuck)` : `${d.agent}: ${d.state}`;
      const why = [d.reason, d.stuck && `stuck: ${d.stuck}`, d.channel && `via ${d.channel}`, d.onScreen]
        .filter(Boolean).join('; ');
      const title = [why, ...(d.screen || [])].filter(Boolean).join('\n');
      return el('span', {
        class: `delivery state-${d.state}${d.stuck ? ' stuck' : ''}`,
        data: { deliveryId: d.id, agent: d.agent, state: d.state },
        title: title || null,
      }, label, why ? el('span', { class: 'why' }, ` — ${why}`) : null);
    });
    const body = m.body ?? '…';
    const node = el('li', {
      class: 'msg',
      data: {
        messageId: m.id, from: m.from || '', to: m.to || '', thread: m.thread || '', replies: String(m.replies.length),
      },
    },
    el('div', { class: 'msg-head' },
      el('span', { class: 'time' }, clock(m.time)),
      el('span', { class: 'route' }, `${m.from ?? '?'} → ${m.to ?? '?'}`),
      m.thread ? el('a', { class: 'thread', href: '#', on: { click: (e) => { e.preventDefault(); this.showThread(m.thread); } } }, `re ${m.thread.slice(-6)}`) : null,
      el('span', { class: 'id muted', title: m.id }, m.id.slice(-8)),
      el('button', { type: 'button', class: 'link', on: { click: () => this.onReply(m.id) } }, 'reply')),
    el('pre', { class: 'body' }, body.length > BODY_PREVIEW ? `${body.slice(0, BODY_PREVIEW)}…` : body),
    el('div', { class: 'deliveries' }, chips),
    this.replyNodes(m));
    if (m.node) {
      m.node.replaceWith(node);
    } else {
      this.list.prepend(node);
    }
    m.node = node;
    this.show(m);
  }

  /** Each reply under the message (who answered, how, a preview); a reply
   * that is a message links to the thread, which shows both. */
  replyNodes(m) {
    if (!m.replied) return null;
    const items = m.replies.map((r) => el('div', {
      class: `reply via-${r.via}`, data: { from: r.from, via: r.via, replyId: r.message_id || '' },
    },
    el('div', { class: 'reply-head' },
      el('span', { class: 'time' }, clock(r.created_at)),
      el('span', { class: 'route' }, `↳ ${r.from} replied`),
      r.message_id ? el('a', {
        class: 'reply-link', href: '#', title: `reply message ${r.message_id}`,
        on: { click: (e) => { e.preventDefault(); this.showThread(m.id); } },
      }, `msg ${r.message_id.slice(-8)}`) : el('span', { class: 'muted' }, `via ${r.via}`)),
    el('pre', { class: 'reply-text' }, r.text.length > REPLY_PREVIEW ? `${r.text.slice(0, REPLY_PREVIEW)}…` : (r.text || '(no text)'))));
    const waiting = items.length ? null : el('div', { class: 'reply muted' },
      m.repliesError ? `replied (cannot read it: ${m.repliesError})` : 'replied …');
    return el('div', { class: 'replies' }, items, waiting);
  }

  /** Shows a message and everything in its thread (the thread filter). */
  showThread(id) {
    this.filters.thread.value = id;
    this.applyFilters();
  }

  matches(m) {
    const agent = this.filters.agent.value;
    const channel = this.filters.channel.value;
    const thread = this.filters.thread.value.trim();
    if (agent && m.from !== agent && ![...m.deliveries.values()].some((d) => d.agent === agent)) return false;
    if (channel && m.to !== channel) return false;
    if (thread && m.id !== thread && m.thread !== thread) return false;
    return true;
  }

  show(m) {
    if (m.node) m.node.hidden = !this.matches(m);
  }

  applyFilters() {
    for (const m of this.messages.values()) this.show(m);
  }

  /** Keeps a filter's options in step with the agents and channels there are. */
  static options(select, values) {
    const keep = select.value;
    clear(select).append(el('option', { value: '' }, 'all'),
      ...values.map((v) => el('option', { value: v }, v)));
    if (values.includes(keep)) select.value = keep;
  }

  clearFilters() {
    this.filters.agent.value = '';
    this.filters.channel.value = '';
    this.filters.thread.value = '';
    this.applyFilters();
  }
}
