import { AsyncResource } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchedWrites } from './batched-writes';

describe('BatchedWrites', () => {
  const scope = new AsyncResource('test');
  const recorder = (maxItems?: number, delayMs = 30) => {
    const written: number[][] = [];
    const batches = new BatchedWrites<number>({
      delayMs,
      maxItems,
      scope,
      write: (items) => {
        written.push(items);
        return Promise.resolve();
      },
    });
    return { written, batches };
  };

  it('items added within the delay share one write', async () => {
    const { written, batches } = recorder();
    batches.add(1);
    batches.add(2, 3);
    expect(batches.pending).toEqual([1, 2, 3]);
    expect(written).toEqual([]);
    await sleep(60);
    expect(written).toEqual([[1, 2, 3]]);
    expect(batches.pending).toEqual([]);
  });

  it('writes at once at maxItems, and on now()', async () => {
    const { written, batches } = recorder(2, 10_000);
    batches.add(1, 2);
    batches.add(3);
    batches.now();
    await batches.settled();
    expect(written).toEqual([[1, 2], [3]]);
    batches.now(); // nothing due: no write
    await batches.settled();
    expect(written).toHaveLength(2);
  });

  it('settled() waits for the writes under way, and a failed write does not reject it', async () => {
    let release = () => undefined as void;
    const batches = new BatchedWrites<number>({
      delayMs: 10_000,
      scope,
      write: () =>
        new Promise<void>((_resolve, reject) => {
          release = () => reject(new Error('down'));
        }),
    });
    batches.add(1);
    batches.now();
    let done = false;
    const settled = batches.settled().then(() => (done = true));
    await sleep(10);
    expect(done).toBe(false);
    release();
    await settled;
    expect(done).toBe(true);
  });
});
