// The send box: POST /v1/messages as the owner, from a name the person
// picks ("you" unless changed; remembered in this browser), to an agent, a
// #channel or * (everyone).

import { post } from './api.js';
import { clear, el, report } from './dom.js';

/**
 * POST /v1/messages as the owner; the outcome goes to `result` (with the new
 * message's id as `data-message-id`). Returns the id, or null when refused.
 * Also used by a conversation pane's own send box.
 */
export async function sendMessage(message, button, result) {
  button.disabled = true;
  try {
    const v = await post('/v1/messages', message);
    localStorage.setItem('courier.from', message.from);
    const n = (v.deliveries || []).length;
    report(result, `sent ${v.message_id} to ${n} recipient(s)`);
    result.dataset.messageId = v.message_id;
    return v.message_id;
  } catch (e) {
    report(result, e);
    return null;
  } finally {
    button.disabled = false;
  }
}

export class Compose {
  constructor(form, result, recipients) {
    this.form = form;
    this.result = result;
    this.recipients = recipients;
    const saved = localStorage.getItem('courier.from');
    if (saved) form.elements.from.value = saved;
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.send();
    });
    form.elements.body.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        this.send();
      }
    });
  }

  async send() {
    const f = this.form.elements;
    const message = { from: this.from(), to: f.to.value.trim(), body: f.body.value };
    const thread = f.thread.value.trim();
    if (thread) message.thread = thread;
    if (await sendMessage(message, this.form.querySelector('button[type=submit]'), this.result)) {
      f.body.value = '';
    }
  }

  /** The name the person sends as (the send box's "from"). */
  from() {
    return this.form.elements.from.value.trim();
  }

  replyTo(messageId, from) {
    this.form.elements.thread.value = messageId;
    if (from) this.form.elements.to.value = from;
    this.form.elements.body.focus();
  }

  /** Offers the agents, the channels and * as recipients. */
  setRecipients(agents, channels) {
    clear(this.recipients).append(
      ...agents.map((a) => el('option', { value: a })),
      ...channels.map((c) => el('option', { value: c })),
      el('option', { value: '*' }, 'everyone'),
    );
  }
}
