// The suites `npm run test:services` runs a second time, on a Redis Cluster of 3 primaries of its
// own (TEST_REDIS_CLUSTER_NODES), after the pass on single Redis: those whose app or fleet takes
// its Redis from the pass (testRedisEnvironment, useProcessFleet). Suites that start a redis-server
// of their own to stop or freeze it stay in the first pass; so do the cluster suites, which start
// clusters of their own (test/bus/redis-cluster-bus, test/redis/cluster-key-families). Jest path
// patterns, as on its command line: regular expressions matched against each suite's path.
const CLUSTER_SUITES = [
  // Two instances: relay, private messages, presence, a Redis restart, send order.
  'test/realtime/two-instances',
  'test/realtime/send-order',
  'test/realtime/local-first-delivery',
  'test/realtime/canonical-ids',
  // Presence: a dead, a re-registered and a stalled instance.
  'test/realtime/dead-instance-presence',
  'test/realtime/reregistered-instance-presence',
  'test/realtime/stalled-instance-presence',
  // One app on the cluster: the gateway, the response cache, the rate limits of every request.
  'test/realtime/gateway-messaging',
  'test/cache/room-cache-fleet',
  'test/cache/http-cache',
  'test/cache/room-cache.e2e',
  // The operator console: figures and questions to every instance over the bus.
  'test/console/console-fleet',
  // The fleet's rate-limit counters, straight on the pass's Redis.
  'test/throttling/redis-fixed-window',
];

module.exports = { CLUSTER_SUITES };
