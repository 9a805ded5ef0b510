// The send box: POST /v1/messages as the owner, from a name the person
// picks ("you" unless changed; remembered in this browser), to an agent, a
// #channel or * (everyone).

import { post } from './api.js';
import { clear, el, report } from './dom.js';

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
    const message = { from: f.from.value.trim(), to: f.to.value.trim(), body: f.body.value };
    const thread = f.thread.value.trim();
    if (thread) message.thread = thread;
    const button = this.form.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const v = await post('/v1/messages', message);
      localStorage.setItem('courier.from', message.from);
      const n = (v.deliveries || []).length;
      report(this.result, `sent ${v.message_id} to ${n} recipient(s)`);
      this.result.dataset.messageId = v.message_id;
      f.body.value = '';
    } catch (e) {
      report(this.result, e);
    } finally {
      button.disabled = false;
    }
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
