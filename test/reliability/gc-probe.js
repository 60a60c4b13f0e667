/**
 * Preloaded into the processes the soak measures (`node --expose-gc -r ./test/reliability/gc-probe.js
 * dist/apps/…/main.js`, spawned with an IPC channel). Nothing in the apps changes and no route
 * is added: only the parent process that spawned the app can ask, over the IPC channel.
 * - `{ type: 'memory' }` → a full collection (`global.gc()`, needs --expose-gc), then
 *   `{ type: 'memory', heapUsed, rss, external, arrayBuffers, collected }` in bytes;
 * - `{ type: 'snapshot', path }` → a full collection, then a V8 heap snapshot written to `path`
 *   (`{ type: 'snapshot', path }` once written), for finding what a leak retains.
 * Without an IPC channel (a normal start) it does nothing.
 */
'use strict';
const v8 = require('node:v8');

if (typeof process.send === 'function') {
  process.on('message', (message) => {
    if (!message || typeof message !== 'object') return;
    if (message.type === 'memory') {
      const collected = typeof global.gc === 'function';
      if (collected) global.gc();
      const { heapUsed, rss, external, arrayBuffers } = process.memoryUsage();
      process.send({ type: 'memory', heapUsed, rss, external, arrayBuffers, collected });
    }
    if (message.type === 'snapshot' && typeof message.path === 'string') {
      if (typeof global.gc === 'function') global.gc();
      const path = v8.writeHeapSnapshot(message.path);
      process.send({ type: 'snapshot', path });
    }
  });
  // the IPC channel must not keep a gracefully stopping app alive
  process.channel?.unref();
}
