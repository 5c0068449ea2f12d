import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { MISSING_ID } from '@test/factories/ids';
import type { Cache } from 'cache-manager';
import request from 'supertest';
import { CacheMetrics, CacheService } from '@libs/cache';
import { bearer, registerUser } from '@test/support/auth-helpers';
import { createRoom } from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';

describe('response cache (e2e)', () => {
  const testApp = useTestApp();

  const http = () => request(testApp.server);

  it('GET /api/users/:id: MISS, then HIT with the same body', async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);

    const first = await http()
      .get(`/api/users/${bob.id}`)
      .set(bearer(alice.accessToken))
      .expect(200);
    const second = await http()
      .get(`/api/users/${bob.id}`)
      .set(bearer(alice.accessToken))
      .expect(200);

    expect(first.headers['x-cache']).toBe('MISS');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(second.text).toBe(first.text);
    expect(second.body).toEqual({
      id: bob.id,
      username: bob.registration.username,
      displayName: bob.registration.username,
      createdAt: expect.any(String),
    });
  });

  it("GET /api/users/me: cached per caller, never another caller's, and refused once logged out", async () => {
    const alice = await registerUser(testApp);
    const bob = await registerUser(testApp);
    const readMe = (token: string) => http().get('/api/users/me').set(bearer(token)).expect(200);

    const aliceFirst = await readMe(alice.accessToken);
    const aliceAgain = await readMe(alice.accessToken);
    const bobFirst = await readMe(bob.accessToken);

    expect([aliceFirst, aliceAgain, bobFirst].map((answer) => answer.headers['x-cache'])).toEqual([
      'MISS',
      'HIT',
      'MISS',
    ]);
    expect(aliceAgain.text).toBe(aliceFirst.text);
    expect(aliceAgain.body).toMatchObject({ id: alice.id, username: alice.registration.username });
    expect(bobFirst.body).toMatchObject({ id: bob.id, username: bob.registration.username });
    await http().post('/api/auth/logout').send({ refreshToken: alice.refreshToken }).expect(204);
    await http().get('/api/users/me').set(bearer(alice.accessToken)).expect(401);
  });

  it('a query in another order, or spelled another way, is the same entry', async () => {
    const alice = await registerUser(testApp);
    const room = await createRoom(testApp, alice);
    const messages = `/api/rooms/${room.id}/messages`;

    await http()
      .get(`${messages}?limit=5&after=0`)
      .set(bearer(alice.accessToken))
      .expect('X-Cache', 'MISS');
    await http()
      .get(`${messages}?after=0&limit=05`)
      .set(bearer(alice.accessToken))
      .expect('X-Cache', 'HIT');
  });

  it('refuses query parameters a cached route does not declare, and stores nothing for them', async () => {
    const alice = await registerUser(testApp);
    const room = await createRoom(testApp, alice);
    const metrics = testApp.app.get(CacheMetrics);
    const stored = () => metrics.snapshot().tiers.memory.sets;
    const routes = [
      [`/api/users/${alice.id}`, ''],
      [`/api/rooms/${room.id}`, ''],
      [`/api/rooms/${room.id}/members`, 'limit=5&'],
      [`/api/rooms/${room.id}/messages`, ''],
    ];
    for (const [path, query] of routes) {
      await http().get(`${path}?${query}`).set(bearer(alice.accessToken)).expect(200);
    }
    const setsBefore = stored();

    for (const [path, query] of routes) {
      const response = await http()
        .get(`${path}?${query}x=1`)
        .set(bearer(alice.accessToken))
        .expect(400);
      expect(response.body.message).toMatch(/property x should not exist/);
    }

    expect(stored()).toBe(setsBefore);
    for (const [path, query] of routes) {
      await http()
        .get(`${path}?${query}`)
        .set(bearer(alice.accessToken))
        .expect(200)
        .expect('X-Cache', 'HIT');
    }
  });

  it('checks access before the cache answers: no token, no cached profile', async () => {
    const alice = await registerUser(testApp);
    await http().get(`/api/users/${alice.id}`).set(bearer(alice.accessToken)).expect(200);

    const response = await http().get(`/api/users/${alice.id}`).expect(401);
    expect(response.headers['x-cache']).toBeUndefined();
  });

  it('invalidating the tag makes the next read a MISS', async () => {
    const alice = await registerUser(testApp);
    const read = () => http().get(`/api/users/${alice.id}`).set(bearer(alice.accessToken));
    await read().expect('X-Cache', 'MISS');
    await read().expect('X-Cache', 'HIT');

    await testApp.app.get(CacheService).invalidateTags([`user:${alice.id}`]);

    await read().expect('X-Cache', 'MISS');
  });

  it('does not cache a 404', async () => {
    const alice = await registerUser(testApp);

    await http().get(`/api/users/${MISSING_ID}`).set(bearer(alice.accessToken)).expect(404);
    const again = await http()
      .get(`/api/users/${MISSING_ID}`)
      .set(bearer(alice.accessToken))
      .expect(404);
    expect(again.headers['x-cache']).toBe('MISS');
  });

  it('CACHE_MANAGER (cache-manager over the same tiers) keeps plain values', async () => {
    const cacheManager = testApp.app.get<Cache>(CACHE_MANAGER);

    await cacheManager.set('plain:settings', { theme: 'dark' }, 10_000);

    expect(await cacheManager.get('plain:settings')).toEqual({ theme: 'dark' });
    await cacheManager.del('plain:settings');
    expect(await cacheManager.get('plain:settings')).toBeUndefined();
  });
});
