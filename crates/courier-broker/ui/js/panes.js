// The grid of panes, like tmux: per agent at most one interactive and one
// read-only terminal pane (xterm.js, terminal.js) or, for a headless agent,
// which has no terminal, one conversation pane instead (conversation.js).
// Which agents are headless comes from the agents list (isHeadless: its
// delivery channel is `native`).

import { isHeadless } from './agents.js';
import { ConversationPane, isConversationEvent } from './conversation.js';
import { TerminalPane } from './terminal.js';

export class Panes {
  /**
   * @param {HTMLElement} container
   * @param {{from: () => string, onMessage: (id: string) => void}} conversation
   *   what a conversation pane needs: the name to send as, and how to show
   *   a message in the timeline
   */
  constructor(container, conversation) {
    this.container = container;
    this.conversation = conversation;
    this.panes = new Map();
    this.headless = new Map(); // agent -> whether headless, from the last list
    this.states = new Map(); // agent -> its state, from the last list
  }

  key(agent, kind) {
    return `${agent}\u0000${kind}`;
  }

  /** Opens (or focuses) the agent's pane: its conversation when headless,
   * else its terminal, interactive or read-only. */
  open(agent, { readOnly = false, headless = this.headless.get(agent) } = {}) {
    const kind = headless ? 'conversation' : `terminal-${readOnly ? 'ro' : 'rw'}`;
    const key = this.key(agent, kind);
    const existing = this.panes.get(key);
    if (existing) {
      existing.focus();
      return existing;
    }
    const onClose = () => this.panes.delete(key);
    const pane = headless
      ? new ConversationPane(this.container, agent, { ...this.conversation, onClose })
      : new TerminalPane(this.container, agent, { readOnly, onClose });
    if (headless) pane.setState(this.states.get(agent));
    this.panes.set(key, pane);
    return pane;
  }

  /** Follows the agents list: closes the panes of agents that are gone or
   * of the other kind (a name spawned again, headless or not), and shows
   * each conversation pane its agent's state as served. */
  sync(agents) {
    this.headless = new Map(agents.map((a) => [a.name, isHeadless(a)]));
    this.states = new Map(agents.map((a) => [a.name, String(a.state ?? '')]));
    for (const pane of [...this.panes.values()]) {
      const headless = this.headless.get(pane.agent);
      if (headless === undefined || headless !== (pane.kind === 'conversation')) {
        pane.close();
      } else if (pane.kind === 'conversation') {
        pane.setState(this.states.get(pane.agent));
      }
    }
  }

  /** One event of the feed: a conversation event goes to its agent's pane;
   * after a gap every conversation pane reads its transcript again. */
  onEvent(event) {
    if (event.type === 'gap') {
      for (const pane of this.panes.values()) if (pane.kind === 'conversation') pane.load();
      return;
    }
    if (!isConversationEvent(event)) return;
    const pane = this.panes.get(this.key(event.name, 'conversation'));
    if (pane) pane.add(event);
  }
}
