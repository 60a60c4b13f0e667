import { ExpiringMap } from '@app/cache';

/** One bucket to check: capacity per minute and what this request takes from it. */
export interface BucketSpec {
  key: string;
  capacity: number;
  cost: number;
}

const WINDOW_MS = 60_000;
/** Idle buckets are full again after a minute; keep them a little longer. */
export const BUCKET_TTL_MS = 2 * WINDOW_MS;

/**
 * Token buckets refilled continuously at capacity/minute, checked and taken all-or-nothing in
 * one atomic script. A request larger than a bucket passes only when that bucket is full.
 * Returns 0 when allowed, else the ms until it would be.
 */
export const TAKE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local levels = {}
local wait = 0
for i = 1, #KEYS do
  local cap = tonumber(ARGV[i * 2 - 1])
  local cost = tonumber(ARGV[i * 2])
  local rate = cap / ${WINDOW_MS}
  local v = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens = tonumber(v[1]) or cap
  local ts = tonumber(v[2]) or now
  tokens = math.min(cap, tokens + math.max(0, now - ts) * rate)
  levels[i] = tokens
  if tokens < cost and tokens < cap then
    local w = math.ceil((math.min(cost, cap) - tokens) / rate)
    if w > wait then wait = w end
  end
end
if wait > 0 then return wait end
for i = 1, #KEYS do
  redis.call('HSET', KEYS[i], 'tokens', tostring(levels[i] - tonumber(ARGV[i * 2])), 'ts', now)
  redis.call('PEXPIRE', KEYS[i], ${BUCKET_TTL_MS})
end
return 0
`;

/** Gives back (delta > 0) or takes more (delta < 0) after the fact; may leave a bucket in debt. */
export const ADJUST_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 1, #KEYS do
  local cap = tonumber(ARGV[i * 2 - 1])
  local delta = tonumber(ARGV[i * 2])
  local v = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens = tonumber(v[1]) or cap
  local ts = tonumber(v[2]) or now
  tokens = math.min(cap, tokens + math.max(0, now - ts) * cap / ${WINDOW_MS} + delta)
  redis.call('HSET', KEYS[i], 'tokens', tostring(tokens), 'ts', now)
  redis.call('PEXPIRE', KEYS[i], ${BUCKET_TTL_MS})
end
return 0
`;

/** Buckets the embedded mode keeps at most; past it the oldest half goes (those refill: lenient). */
const MAX_MEMORY_BUCKETS = 200_000;

/**
 * The same buckets for the single-node embedded mode (no Redis). A bucket idle for
 * BUCKET_TTL_MS is full again, so it leaves memory then, as its Redis twin expires (a plain Map
 * kept every key and team ever limited until it was used again).
 */
export class MemoryBuckets {
  private readonly buckets = new ExpiringMap<string, { tokens: number; ts: number }>(
    BUCKET_TTL_MS,
    MAX_MEMORY_BUCKETS,
  );

  /** Buckets held (idle ones not yet dropped included). */
  get size(): number {
    return this.buckets.size;
  }

  take(specs: BucketSpec[], now = Date.now()): number {
    let wait = 0;
    const levels = specs.map((s) => {
      const tokens = this.level(s.key, s.capacity, now);
      if (tokens < s.cost && tokens < s.capacity) {
        const rate = s.capacity / WINDOW_MS;
        wait = Math.max(wait, Math.ceil((Math.min(s.cost, s.capacity) - tokens) / rate));
      }
      return tokens;
    });
    if (wait > 0) return wait;
    specs.forEach((s, i) => this.keep(s.key, levels[i] - s.cost, now));
    return 0;
  }

  adjust(specs: BucketSpec[], now = Date.now()): void {
    for (const s of specs) {
      this.keep(s.key, Math.min(s.capacity, this.level(s.key, s.capacity, now) + s.cost), now);
    }
  }

  private level(key: string, capacity: number, now: number): number {
    const b = this.buckets.get(key, now);
    if (!b) return capacity;
    return Math.min(capacity, b.tokens + (Math.max(0, now - b.ts) * capacity) / WINDOW_MS);
  }

  private keep(key: string, tokens: number, now: number): void {
    this.buckets.set(key, { tokens, ts: now }, now + BUCKET_TTL_MS, now);
  }
}
