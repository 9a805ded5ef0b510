// Health: /healthz (ok or degraded), the stuck deliveries of /v1/status with
// the screen excerpt that shows why, the dead letters of /v1/dlq with
// replay, and a few figures from /metrics.

import { get, post, seg } from './api.js';
import { clear, clock, el, report } from './dom.js';

const HIGHLIGHTS = [
  ['courier_agents', 'agents'],
  ['courier_pending_deliveries', 'pending'],
  ['courier_messages_accepted_total', 'messages'],
  ['courier_deliveries_verified_total', 'verified'],
  ['courier_deliveries_unverified_total', 'unverified'],
  ['courier_deliveries_dropped_total', 'dropped'],
  ['courier_deliveries_read_total', 'read'],
  ['courier_deliveries_stuck', 'stuck now'],
];

/** `name value` lines of the Prometheus text format (no labels). */
export function parseMetrics(text) {
  const out = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+) ([0-9.eE+-]+)$/.exec(line.trim());
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}

export class Health {
  constructor({ badge, metrics, stuck, dlq, dlqResult }, onStuck) {
    Object.assign(this, { badge, metricsList: metrics, stuckList: stuck, dlqBody: dlq, dlqResult });
    this.onStuck = onStuck;
  }

  async refresh() {
    await Promise.allSettled([this.health(), this.status(), this.deadLetters(), this.metrics()]);
  }

  async health() {
    let status = 'down';
    try {
      const r = await fetch('/healthz', { cache: 'no-store' });
      status = (await r.json()).status || 'unknown';
    } catch {
      status = 'unreachable';
    }
    this.badge.dataset.status = status;
    this.badge.textContent = `health: ${status}`;
  }

  async status() {
    const v = await get('/v1/status');
    const stuck = v.stuck || [];
    this.onStuck(stuck);
    clear(this.stuckList);
    if (!stuck.length) this.stuckList.append(el('li', { class: 'muted' }, 'none'));
    for (const s of stuck) {
      this.stuckList.append(el('li', { data: { deliveryId: s.delivery_id, agent: s.agent } },
        el('div', {},
          el('strong', {}, s.agent), ` ${s.state}, ${s.reason} for ${Math.round(s.waited_ms / 1000)} s: ${s.why}`,
          el('span', { class: 'muted' }, ` (${s.delivery_id})`)),
        el('pre', { class: 'screen' }, (s.screen || []).join('\n') || '(blank screen)')));
    }
    return v;
  }

  async deadLetters() {
    const v = await get('/v1/dlq?limit=100');
    clear(this.dlqBody);
    const letters = v.dead_letters || [];
    if (!letters.length) this.dlqBody.append(el('tr', {}, el('td', { colspan: 7, class: 'muted' }, 'none')));
    for (const d of letters) {
      this.dlqBody.append(el('tr', { data: { deliveryId: d.id, agent: d.agent, state: d.state } },
        el('td', { title: d.id }, d.id.slice(-8)),
        el('td', {}, d.agent),
        el('td', {}, d.from),
        el('td', {}, d.state),
        el('td', {}, d.reason || ''),
        el('td', {}, clock(d.updated_at)),
        el('td', {}, el('button', {
          type: 'button',
          class: 'replay',
          on: { click: () => this.replay(d.id) },
        }, 'replay'))));
    }
  }

  async replay(id) {
    try {
      const d = await post(`/v1/dlq/${seg(id)}/replay`);
      report(this.dlqResult, `${d.id} is back in ${d.agent}'s queue (${d.state})`);
    } catch (e) {
      report(this.dlqResult, e);
    }
    this.deadLetters();
  }

  async metrics() {
    const r = await fetch('/metrics', { credentials: 'same-origin', cache: 'no-store' });
    if (!r.ok) return;
    const values = parseMetrics(await r.text());
    clear(this.metricsList);
    for (const [name, label] of HIGHLIGHTS) {
      if (!values.has(name)) continue;
      const value = values.get(name);
      this.metricsList.append(el('div', { class: `metric${label === 'stuck now' && value > 0 ? ' alarm' : ''}`, title: name },
        el('dt', {}, label), el('dd', { data: { metric: name } }, String(value))));
    }
  }
}
