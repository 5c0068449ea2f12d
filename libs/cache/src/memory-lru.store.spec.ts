import Keyv from 'keyv';
import { MemoryLruStore } from './memory-lru.store';

describe(MemoryLruStore.name, () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('holds at most maxEntries, evicting the least recently used', () => {
    const removed: string[] = [];
    const store = new MemoryLruStore({ maxEntries: 2, onRemove: (key) => removed.push(key) });
    store.setSync('a', 1, 1000);
    store.setSync('b', 2, 1000);
    store.getSync('a'); // a is now the most recently used
    store.setSync('c', 3, 1000);

    expect(store.size).toBe(2);
    expect(store.getSync('b')).toBeUndefined();
    expect(store.getSync('a')).toBe(1);
    expect(store.getSync('c')).toBe(3);
    expect(removed).toEqual(['b']);
  });

  it('holds at most maxSize, and refuses an entry larger than that', () => {
    const store = new MemoryLruStore({
      maxEntries: 100,
      maxSize: 10,
      sizeOf: (data) => String(data).length,
    });
    store.setSync('a', 'xxxx', 1000);
    store.setSync('b', 'yyyy', 1000);
    store.setSync('c', 'zzzz', 1000);

    expect(store.getSync('a')).toBeUndefined();
    expect(store.size).toBe(2);
    expect(store.setSync('huge', 'x'.repeat(11), 1000)).toBe(false);
    expect(store.getSync('huge')).toBeUndefined();
  });

  it('expires entries after their TTL, capped by maxTtlMs', () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const store = new MemoryLruStore({ maxEntries: 10, maxTtlMs: 100 });
    store.setSync('short', 1, 50);
    store.setSync('capped', 2, 10_000);
    store.setSync('forever', 3);

    jest.setSystemTime(1_000_060);
    expect(store.getSync('short')).toBeUndefined();
    expect(store.getSync('capped')).toBe(2);

    jest.setSystemTime(1_000_101);
    expect(store.getSync('capped')).toBeUndefined();
    expect(store.getSync('forever')).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('does not store with a TTL of 0', () => {
    const store = new MemoryLruStore({ maxEntries: 10 });
    expect(store.setSync('a', 1, 0)).toBe(false);
    expect(store.size).toBe(0);
  });

  it('works as a Keyv store, keeping values as they are', async () => {
    const store = new MemoryLruStore({ maxEntries: 10 });
    const keyv = new Keyv({ store, useKeyPrefix: false });
    keyv.serialize = undefined;
    keyv.deserialize = undefined;
    const value = { body: '{"a":1}' };

    await keyv.set('k', value, 1000);

    expect(await keyv.get('k')).toBe(value);
    expect(await keyv.delete('k')).toBe(true);
    expect(await keyv.get('k')).toBeUndefined();
  });
});
