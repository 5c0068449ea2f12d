import request from 'supertest';
import { bearer, registerUser } from '@test/support/auth-helpers';
import { parsePrometheusText, PrometheusSample, sumOf } from '@test/support/prometheus-text';
import { createRoom, postMessage } from '@test/support/room-helpers';
import { startTestApp, useTestApp } from '@test/support/test-app';
import { waitUntil } from '@test/support/wait-until';
import { WsTestClient } from '@test/support/ws-test-client';

const REQUESTS = 'switchboard_http_request_duration_seconds_count';

describe('metrics (e2e)', () => {
  const testApp = useTestApp();

  const scrape = async () => {
    const response = await request(testApp.server).get('/metrics').expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    return parsePrometheusText(response.text);
  };

  it('serves Prometheus text with process metrics', async () => {
    const samples = await scrape();

    const valueOf = (name: string) => samples.find((sample) => sample.name === name)?.value;

    // Present, and a measurement: an absent metric reads undefined and fails here.
    expect(valueOf('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(valueOf('process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('counts requests by route template and status', async () => {
    const before = await scrape();
    const route = { route: '/api/users/:id', status_code: '401' };

    for (let i = 0; i < 3; i++) {
      await request(testApp.server).get(`/api/users/${crypto.randomUUID()}`).expect(401);
    }
    await request(testApp.server).get('/no/such/route').expect(404);

    const after = await scrape();
    expect(sumOf(after, REQUESTS, route) - sumOf(before, REQUESTS, route)).toBe(3);
    const unmatched = { route: 'unmatched', status_code: '404' };
    expect(sumOf(after, REQUESTS, unmatched) - sumOf(before, REQUESTS, unmatched)).toBe(1);
  });

  it('counts throttled requests by limit', async () => {
    const limited = await startTestApp({ environment: { THROTTLE_LIMIT: '2' } });
    try {
      for (let i = 0; i < 3; i++) {
        await request(limited.server).get('/api/users/me');
      }
      const metrics = await request(limited.server).get('/metrics').expect(200);
      const samples = parsePrometheusText(metrics.text);
      expect(
        sumOf(samples, 'switchboard_http_requests_throttled_total', { throttler: 'default' }),
      ).toBe(1);
    } finally {
      await limited.close();
    }
  });

  it('counts WebSocket connections, frames and fan-out deliveries', async () => {
    const live = await startTestApp();
    try {
      const alice = await registerUser(live);
      const room = await createRoom(live, alice);
      const socket = await WsTestClient.connect(live.url, { token: alice.accessToken });
      await socket.request('join', { roomId: room.id }, 'joined');
      await socket.request('send', { roomId: room.id, body: 'counted' }, 'ack');
      await socket.next('message');
      socket.sendUnchecked('not json');
      await socket.next('error');

      const samples = parsePrometheusText((await request(live.server).get('/metrics')).text);
      expect(sumOf(samples, 'switchboard_ws_connections')).toBe(1);
      expect(sumOf(samples, 'switchboard_ws_frames_received_total', { event: 'join' })).toBe(1);
      expect(sumOf(samples, 'switchboard_ws_frames_received_total', { event: 'send' })).toBe(1);
      expect(sumOf(samples, 'switchboard_ws_frames_received_total', { event: 'refused' })).toBe(1);
      // The message, and the sender's own presence.
      expect(sumOf(samples, 'switchboard_ws_fanout_deliveries_total')).toBe(2);
      expect(sumOf(samples, 'switchboard_ws_frames_sent_total')).toBeGreaterThanOrEqual(5);
      await socket.closeAndWait();
    } finally {
      await live.close();
    }
  });

  it('exports the operator metrics with plausible values after traffic', async () => {
    const live = await startTestApp();
    try {
      const alice = await registerUser(live);
      const rooms = [await createRoom(live, alice), await createRoom(live, alice)];
      const socket = await WsTestClient.connect(live.url, { token: alice.accessToken });
      for (const room of rooms) {
        await socket.request('join', { roomId: room.id }, 'joined');
      }
      const posted = [];
      for (let i = 0; i < 3; i++) {
        posted.push(await postMessage(live, alice, rooms[0].id));
      }
      await socket.request(
        'edit',
        { roomId: rooms[0].id, messageId: posted[0].id, body: 'edited' },
        'ack',
      );
      await socket.request('delete', { roomId: rooms[0].id, messageId: posted[1].id }, 'ack');

      const samples = parsePrometheusText((await request(live.server).get('/metrics')).text);
      const stored = (kind: string) =>
        sumOf(samples, 'switchboard_messages_stored_total', { kind });
      expect([stored('message'), stored('edit'), stored('delete')]).toEqual([3, 1, 1]);
      // Every write of the process (users, rooms, entries) goes through SQLite's group commit.
      const commits = sumOf(samples, 'switchboard_commit_duration_seconds_count');
      expect(commits).toBeGreaterThanOrEqual(5);
      expect(sumOf(samples, 'switchboard_commit_duration_seconds_sum')).toBeGreaterThan(0);
      expect(sumOf(samples, 'switchboard_group_commit_batch_size_count')).toBe(commits);
      expect(sumOf(samples, 'switchboard_group_commit_batch_size_sum')).toBeGreaterThanOrEqual(
        commits,
      );
      expect(sumOf(samples, 'switchboard_ws_rooms_live')).toBe(rooms.length);
      expect(sumOf(samples, 'switchboard_live_seq_gaps_total')).toBe(0);
      expect(sumOf(samples, 'switchboard_instance_state', { state: 'ready' })).toBe(1);
      expect(sumOf(samples, 'switchboard_instance_state')).toBe(1);
      expect(sumOf(samples, 'switchboard_dependency_up', { dependency: 'database' })).toBe(1);
      // No Redis here: no Redis series.
      expect(samples.some((sample) => sample.labels.dependency === 'redis')).toBe(false);
      expect(samples.some((sample) => sample.name === 'switchboard_redis_breaker_open')).toBe(
        false,
      );
      const entries = (registry: string) =>
        sumOf(samples, 'switchboard_ws_registry_entries', { registry });
      expect(entries('connections_by_socket')).toBe(1);
      expect(entries('connections_by_room')).toBe(rooms.length);
      expect(entries('room_memberships')).toBe(rooms.length);
      expect(entries('token_expiry_schedule')).toBe(1);
      expect(entries('seq_gap_rooms')).toBe(1);

      // The socket gone, the per-connection and per-room structures are empty again.
      await socket.closeAndWait();
      await waitUntil(
        async () => {
          const after = parsePrometheusText((await request(live.server).get('/metrics')).text);
          return sumOf(after, 'switchboard_ws_connections') === 0;
        },
        5000,
        'the connection to be gone',
      );
      const after = parsePrometheusText((await request(live.server).get('/metrics')).text);
      expect(sumOf(after, 'switchboard_ws_rooms_live')).toBe(0);
      for (const registry of [
        'connections_by_socket',
        'connections_by_room',
        'room_memberships',
        'token_expiry_schedule',
        'seq_gap_rooms',
      ]) {
        expect([registry, sumOf(after, 'switchboard_ws_registry_entries', { registry })]).toEqual([
          registry,
          0,
        ]);
      }
    } finally {
      await live.close();
    }
  });

  it('exports the response-cache counters per tier', async () => {
    const user = await registerUser(testApp);
    const before = await scrape();
    const hits = (samples: PrometheusSample[]) =>
      sumOf(samples, 'switchboard_cache_hits_total', { tier: 'memory' });
    const misses = (samples: PrometheusSample[]) =>
      sumOf(samples, 'switchboard_cache_misses_total', { tier: 'memory' });

    for (let i = 0; i < 3; i++) {
      await request(testApp.server)
        .get(`/api/users/${user.id}`)
        .set(bearer(user.accessToken))
        .expect(200);
    }

    const after = await scrape();
    expect(hits(after) - hits(before)).toBe(2);
    expect(misses(after) - misses(before)).toBe(1);
    for (const name of ['sets', 'invalidations', 'errors']) {
      expect(after).toContainEqual(
        expect.objectContaining({
          name: `switchboard_cache_${name}_total`,
          labels: { tier: 'redis' },
        }),
      );
    }
    expect(sumOf(after, 'switchboard_cache_loads_total')).toBeGreaterThan(0);
    for (const name of ['coalesced', 'discarded_loads', 'publish_errors']) {
      expect(after.some((sample) => sample.name === `switchboard_cache_${name}_total`)).toBe(true);
    }
  });

  it('needs the bearer token when METRICS_TOKEN is set', async () => {
    const guarded = await startTestApp({
      environment: { METRICS_TOKEN: 'scrape-token-0123456789' },
    });
    try {
      await request(guarded.server).get('/metrics').expect(401);
      await request(guarded.server)
        .get('/metrics')
        .set('Authorization', 'Bearer wrong-token-0123456789')
        .expect(401);
      await request(guarded.server)
        .get('/metrics')
        .set('Authorization', 'Bearer scrape-token-0123456789')
        .expect(200);
    } finally {
      await guarded.close();
    }
  });
});
