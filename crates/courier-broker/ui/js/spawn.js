// Spawning an agent from a preset (claude, codex, shell, …) or a command:
// POST /v1/agents (owner only); headless (no terminal: the CLI's own
// protocol on pipes, shown as a conversation pane) when ticked.

import { post } from './api.js';
import { report } from './dom.js';

/** Splits a command line into words: spaces separate, quotes group. */
export function words(line) {
  const out = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m;
  while ((m = re.exec(line)) !== null) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

export function wireSpawn(form, result, onSpawned) {
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = form.elements;
    const spec = {
      name: f.name.value.trim(),
      channels: f.channels.value.split(/[\s,]+/).filter(Boolean),
    };
    const preset = f.preset.value.trim();
    const command = words(f.command.value);
    if (preset) spec.preset = preset;
    if (command.length) spec.command = command;
    if (f.headless.checked) spec.headless = true;
    if (f.protocol.value) spec.protocol = f.protocol.value;
    if (!preset && !command.length) {
      report(result, new Error('give a preset or a command'));
      return;
    }
    try {
      const v = await post('/v1/agents', spec);
      report(result, `spawned ${v.name} (pid ${v.pid})`);
      form.reset();
      onSpawned(v.name);
    } catch (err) {
      report(result, err);
    }
  });
}
