// The live event log: GET /v1/events/ws?since=SEQ (one JSON event per text
// message; the broker replays everything after SEQ, then follows live with
// no gap). On a drop it reconnects from the last seq it saw, so nothing is
// missed or repeated.

import { wsUrl } from './api.js';

export class EventFeed {
  /**
   * @param {number} since  replay events after this seq
   * @param {(event: object) => void} onEvent
   * @param {(status: string) => void} onStatus  'live' | 'reconnecting' | ...
   */
  constructor(since, onEvent, onStatus) {
    this.last = since;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.backoff = 250;
    this.stopped = false;
    this.connect();
  }

  connect() {
    const ws = new WebSocket(wsUrl(`/v1/events/ws?since=${this.last}`));
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = 250;
      this.onStatus('live');
    };
    ws.onmessage = (message) => {
      let event;
      try {
        event = JSON.parse(message.data);
      } catch {
        return;
      }
      if (typeof event.seq === 'number' && event.seq <= this.last) return;
      if (typeof event.seq === 'number') this.last = event.seq;
      try {
        this.onEvent(event);
      } catch (e) {
        console.error('event handler failed', event, e);
      }
    };
    ws.onclose = () => {
      if (this.stopped) return;
      this.onStatus('reconnecting');
      setTimeout(() => this.connect(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, 5000);
    };
  }

  stop() {
    this.stopped = true;
    if (this.ws) this.ws.close();
  }
}
