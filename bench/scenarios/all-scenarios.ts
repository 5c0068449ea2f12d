import { clusterCachedRead } from './cluster.scenario';
import { fleetRelay } from './fleet-relay.scenario';
import { HTTP_READ_SCENARIOS } from './http-read.scenarios';
import { MESSAGE_POST_SCENARIOS } from './message-post.scenarios';
import { READ_MARK_SCENARIOS } from './read-marks.scenario';
import { Scenario } from './scenario';
import { websocketFanout } from './websocket-fanout.scenario';
import { websocketHandshake } from './websocket-handshake.scenario';
import { websocketIdleMemory } from './websocket-idle-memory.scenario';
import { websocketPeer } from './websocket-peer.scenario';

/** Every scenario, in the order a full run measures them. */
export const ALL_SCENARIOS: readonly Scenario[] = [
  ...HTTP_READ_SCENARIOS,
  ...MESSAGE_POST_SCENARIOS,
  ...READ_MARK_SCENARIOS,
  websocketHandshake,
  websocketIdleMemory,
  websocketFanout,
  websocketPeer,
  clusterCachedRead,
  fleetRelay,
];
