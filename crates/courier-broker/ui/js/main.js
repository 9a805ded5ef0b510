// The dashboard: checks the login (GET /v1/whoami with the session cookie),
// then wires the panels to the live event log: the timeline, the agents'
// last outcomes and the conversation panes of headless agents follow it.
// Agents, health and dead letters are read again when an event says they
// changed; the agents also every 5 s and health and metrics every 10 s, for
// what no event carries (an input hold ending, uptime figures).

import { ApiError, del, get } from './api.js';
import { $, debounce } from './dom.js';
import { Agents } from './agents.js';
import { Compose } from './compose.js';
import { EventFeed } from './events.js';
import { Health } from './health.js';
import { wireSpawn } from './spawn.js';
import { Panes } from './panes.js';
import { Timeline } from './timeline.js';

/** How many past events the timeline starts from. */
const HISTORY = 2000;

async function loggedIn() {
  try {
    const me = await get('/v1/whoami');
    $('#whoami').textContent = me.kind === 'owner' ? 'owner' : `agent ${me.agent}`;
    return true;
  } catch (e) {
    $('#login-needed').hidden = false;
    $('#login-detail').textContent = e instanceof ApiError ? e.message : `cannot reach the broker: ${e.message}`;
    return false;
  }
}

async function start() {
  if (!(await loggedIn())) return;
  $('#app').hidden = false;
  const logout = $('#logout');
  logout.hidden = false;
  logout.addEventListener('click', async () => {
    await del('/v1/session').catch(() => {});
    location.reload();
  });

  const compose = new Compose($('#compose'), $('#compose-result'), $('#recipients'));
  const filters = { agent: $('#filter-agent'), channel: $('#filter-channel'), thread: $('#filter-thread') };
  const timeline = new Timeline($('#timeline'), filters, (id) => {
    const m = timeline.messages.get(id);
    compose.replyTo(id, m && m.from);
  });
  const panes = new Panes($('#panes'), { from: () => compose.from(), onMessage: (id) => timeline.showThread(id) });
  const agents = new Agents($('#agents tbody'), $('#agents-error'), (name, opts) => panes.open(name, opts).focus());
  $('#filter-clear').addEventListener('click', () => timeline.clearFilters());
  const health = new Health({
    badge: $('#health'), metrics: $('#metrics'), stuck: $('#stuck'), dlq: $('#dlq tbody'), dlqResult: $('#dlq-result'),
  }, (stuck) => agents.setStuck(stuck));

  let opened = false;
  const refreshAgents = debounce(async () => {
    const list = await agents.refresh();
    const names = list.map((a) => a.name);
    let channels = [];
    try {
      channels = ((await get('/v1/channels')).channels || []).map((c) => c.name);
    } catch {
      // the table says what went wrong
    }
    Timeline.options(filters.agent, names);
    Timeline.options(filters.channel, channels);
    compose.setRecipients(names, channels);
    panes.sync(list);
    if (!opened) {
      // Like tmux: every agent's terminal (or conversation) at once, to start with.
      opened = true;
      names.slice(0, 6).forEach((name) => panes.open(name));
    }
  }, 150);
  const refreshHealth = debounce(() => health.refresh(), 300);
  wireSpawn($('#spawn-form'), $('#spawn-result'), refreshAgents);

  const status = await get('/v1/status');
  const since = Math.max(0, (status.last_seq || 0) - HISTORY);
  const streamBadge = $('#stream');
  new EventFeed(since, (event) => {
    timeline.apply(event);
    agents.onEvent(event);
    panes.onEvent(event);
    const type = String(event.type || '');
    if (type === 'gap') {
      refreshAgents();
      refreshHealth();
      return;
    }
    if (type.startsWith('agent_') || type.startsWith('delivery_') || type.startsWith('channel_')) {
      refreshAgents();
    }
    if (/^delivery_(dropped|dead|replayed|stuck|verified|read)$/.test(type) || type.startsWith('agent_')) {
      refreshHealth();
    }
  }, (state) => {
    streamBadge.dataset.status = state;
    streamBadge.textContent = `events: ${state}`;
    if (state === 'live') {
      refreshAgents();
      refreshHealth();
    }
  });
  setInterval(async () => panes.sync(await agents.refresh()), 5000);
  setInterval(() => {
    health.health();
    health.metrics();
    health.status().catch(() => {});
  }, 10000);
}

start();
