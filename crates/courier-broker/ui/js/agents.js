// The agents table: name, preset or command, state, mode, queue depth and
// the last outcome of a delivery to it; per agent: open its terminal (or
// watch it read-only) or, for a headless agent, its conversation; change
// its mode, flush its queue, release it.

import { del, get, post, put, seg } from './api.js';
import { el, report, visible } from './dom.js';
import { proven } from './timeline.js';

/**
 * Whether the agent is headless: no terminal, spoken to in its own protocol
 * (ACP, stream-json). The API says so with its delivery channel, `native`,
 * which the broker gives a headless agent and no other.
 */
export function isHeadless(agent) {
  return agent.delivery === 'native';
}

/**
 * The agent's state as the broker computed it (`state`: one word, the same
 * the CLI and MCP show; the precedence is the broker's, see the OpenAPI
 * document) and a line that says why, for the tooltip.
 */
export function agentState(agent, stuckAgents) {
  // Shown as served: the broker sends `state` for every agent, local or
  // remote, so the page never makes one up from the status flags.
  const state = String(agent.state ?? '');
  return [state, stateWhy(agent, state, stuckAgents)];
}

function stateWhy(agent, state, stuckAgents) {
  const s = agent.status || {};
  const ready = `ready (${s.ready_by || 'screen'})`;
  switch (state) {
    case 'away':
    case 'remote':
      return `on host ${agent.host} (${agent.presence})`;
    case 'dead':
      return `dead: ${agent.dead_reason || 'its restart policy gave up'}`;
    case 'restarting':
      return `restarting (attempt ${agent.restarting ? agent.restarting.attempt : '?'})`;
    case 'exited':
      return exitText(s.exited || {});
    case 'stuck':
      return stuckAgents.get(agent.name) || 'a delivery to it is stuck';
    case 'held':
      return s.held || 'its input holds text';
    case 'busy':
      return s.working || 'working';
    case 'starting':
      return s.not_ready || 'waiting for its prompt';
    case 'ready':
      return `${ready}, ${agent.queue_depth ?? '?'} queued`;
    case 'done':
      return agent.result ? `${ready}, done: ${agent.result}` : `${ready}, done`;
    default:
      return ready;
  }
}

function exitText(exited) {
  if (exited.signal) return `killed by ${exited.signal}`;
  return exited.code !== undefined && exited.code !== null ? `exit code ${exited.code}` : 'exited';
}

function commandText(agent) {
  if (agent.remote) return `on host ${agent.host}`;
  const what = agent.preset
    ? `preset ${agent.preset}`
    : (Array.isArray(agent.command) ? agent.command.join(' ') : String(agent.command ?? ''));
  return isHeadless(agent) ? `headless · ${what}` : what;
}

export class Agents {
  /**
   * @param {HTMLTableSectionElement} tbody
   * @param {HTMLElement} errorLine
   * @param {(name: string, opts: {readOnly: boolean, headless: boolean}) => void} onOpen
   */
  constructor(tbody, errorLine, onOpen) {
    this.tbody = tbody;
    this.errorLine = errorLine;
    this.onOpen = onOpen;
    this.rows = new Map();
    this.list = [];
    this.stuck = new Map();
    this.outcomes = new Map();
  }

  names() {
    return this.list.map((a) => a.name);
  }

  async refresh() {
    try {
      const v = await get('/v1/agents');
      this.list = (v.agents || []).sort((a, b) => a.name.localeCompare(b.name));
      this.errorLine.hidden = true;
    } catch (e) {
      report(this.errorLine, e);
      return this.list;
    }
    this.render();
    return this.list;
  }

  /** Stuck deliveries from /v1/status: agent -> why. */
  setStuck(stuck) {
    this.stuck = new Map((stuck || []).map((s) => [s.agent, `${s.reason}: ${s.why}`]));
    this.render();
  }

  /** Remembers the last outcome of a delivery per agent from the event log. */
  onEvent(e) {
    const at = (agent, text) => this.outcomes.set(agent, text);
    switch (e.type) {
      case 'delivery_verified':
        at(e.agent, proven(e) ? 'verified' : `unverified: ${e.reason || ''}`);
        break;
      case 'delivery_read':
        at(e.agent, `read (${e.channel})`);
        break;
      case 'delivery_dead':
        at(e.agent, `dead: ${e.reason}`);
        break;
      case 'delivery_dropped':
        at(e.name, `dropped: ${e.reason}`);
        break;
      default:
        return;
    }
    const row = this.rows.get(e.agent || e.name);
    if (row) row.outcome.textContent = visible(this.outcomes.get(e.agent || e.name));
  }

  render() {
    const seen = new Set();
    for (const agent of this.list) {
      seen.add(agent.name);
      let row = this.rows.get(agent.name);
      if (!row) {
        row = this.makeRow(agent.name);
        this.rows.set(agent.name, row);
      }
      this.tbody.append(row.tr); // keeps the sorted order
      const [state, why] = agentState(agent, this.stuck);
      row.tr.dataset.state = state;
      const headless = isHeadless(agent);
      row.tr.dataset.headless = String(headless);
      row.headless = headless;
      row.terminal.hidden = headless;
      row.watch.hidden = headless;
      row.conversation.hidden = !headless;
      row.command.textContent = visible(commandText(agent));
      row.command.title = visible(Array.isArray(agent.command) ? agent.command.join(' ') : '');
      row.state.textContent = visible(state);
      row.state.className = `state state-${state}`;
      row.state.title = visible(why);
      if (document.activeElement !== row.mode) row.mode.value = agent.mode || 'idle';
      // null: the broker could not count it; absent: an agent of another host.
      row.queue.textContent = String(agent.queue_depth === null ? '?' : (agent.queue_depth ?? 0));
      row.outcome.textContent = visible(this.outcomes.get(agent.name) || '–');
    }
    for (const [name, row] of this.rows) {
      if (!seen.has(name)) {
        row.tr.remove();
        this.rows.delete(name);
      }
    }
  }

  makeRow(name) {
    const path = `/v1/agents/${seg(name)}`;
    const act = (fn) => async () => {
      try {
        await fn();
        this.errorLine.hidden = true;
      } catch (e) {
        report(this.errorLine, e);
      }
      this.refresh();
    };
    const mode = el('select', {
      class: 'mode',
      title: 'idle: at the next idle moment; immediate: even while busy; manual: held until flushed',
      on: { change: act(() => put(`${path}/mode`, { mode: mode.value })) },
    }, ['idle', 'immediate', 'manual'].map((m) => el('option', { value: m }, m)));
    const open = (readOnly) => () => this.onOpen(name, { readOnly, headless: row.headless });
    const row = {
      headless: false,
      terminal: el('button', { type: 'button', class: 'open-terminal', on: { click: open(false) } }, 'terminal'),
      watch: el('button', { type: 'button', class: 'watch-terminal', on: { click: open(true) } }, 'watch'),
      conversation: el('button', {
        type: 'button', class: 'open-conversation', hidden: true, title: 'its conversation: prompts, replies, tool calls',
        on: { click: open(false) },
      }, 'conversation'),
      command: el('td', { class: 'command' }),
      state: el('span', { class: 'state' }),
      mode,
      queue: el('td', { class: 'queue' }),
      outcome: el('td', { class: 'outcome' }),
    };
    row.tr = el('tr', { data: { agent: name } },
      el('td', { class: 'name' }, name),
      row.command,
      el('td', {}, row.state),
      el('td', {}, mode),
      row.queue,
      row.outcome,
      el('td', { class: 'actions' },
        row.terminal,
        row.watch,
        row.conversation,
        el('button', { type: 'button', class: 'flush', title: 'let everything queued through now', on: { click: act(() => post(`${path}/flush`)) } }, 'flush'),
        el('button', {
          type: 'button',
          class: 'release danger',
          on: {
            click: act(async () => {
              if (window.confirm(`Release ${name}? Its processes end; its queued messages become dead letters.`)) {
                await del(path);
              }
            }),
          },
        }, 'release')));
    return row;
  }
}
