import { ApiProperty } from '@nestjs/swagger';
import {
  FleetView,
  INSTANCE_ID_MAX_LENGTH,
  InstanceFigures,
  MAX_FLEET_INSTANCES,
  RoomEventKind,
} from '@libs/protocol';
import { SEQ_SCHEMA, TIMESTAMP_SCHEMA, UUID_SCHEMA } from '@app/openapi/api-schemas';
import { USERNAME_MAX_LENGTH } from '@app/users/users.dto';
import { RoomResponseDto, toRoomResponse } from '@app/rooms/rooms.dto';
import {
  CONSOLE_ROOM_ENTRIES,
  CONSOLE_ROOM_LIVE_MEMBERS,
  ConsoleRoomView,
  DisconnectOutcome,
} from './console.service';

// The console's answers. The fleet's types live in libs/protocol (the `fleet` frame carries the
// same view); these classes implement them, so the document cannot drift from the frame.

const COUNT = SEQ_SCHEMA;
const INSTANCE_ID = { type: String, maxLength: INSTANCE_ID_MAX_LENGTH };
const RATE = { type: 'number', minimum: 0 } as const;

export class InstanceFiguresDto implements InstanceFigures {
  /** Unique per process: host, pid and a random suffix. */
  @ApiProperty(INSTANCE_ID)
  instanceId: string;
  @ApiProperty(INSTANCE_ID)
  host: string;
  @ApiProperty(COUNT)
  pid: number;
  @ApiProperty(TIMESTAMP_SCHEMA)
  startedAt: string;
  /** When the instance read the figures (its `/metrics` at that moment). */
  @ApiProperty(TIMESTAMP_SCHEMA)
  reportedAt: string;
  /** No report for three intervals: probably gone. */
  stale: boolean;
  @ApiProperty({
    enum: ['ready', 'degraded', 'draining', 'not_ready'],
    enumName: 'ConsoleInstanceState',
  })
  state: InstanceFigures['state'];
  @ApiProperty({ enum: ['up', 'down'], enumName: 'ConsoleDatabaseState' })
  database: InstanceFigures['database'];
  @ApiProperty({ enum: ['up', 'down', 'absent'], enumName: 'ConsoleRedisState' })
  redis: InstanceFigures['redis'];
  @ApiProperty({ enum: ['closed', 'open', 'absent'], enumName: 'ConsoleBreakerState' })
  breaker: InstanceFigures['breaker'];
  @ApiProperty(COUNT)
  connections: number;
  /** Rooms with at least one live connection on the instance. */
  @ApiProperty(COUNT)
  roomsLive: number;
  /** Over the interval since the instance's previous report. */
  @ApiProperty(RATE)
  messagesPerSecond: number;
  @ApiProperty(RATE)
  requestsPerSecond: number;
  @ApiProperty(COUNT)
  messagesStoredTotal: number;
  @ApiProperty(COUNT)
  requestsTotal: number;
  /** Over the interval since the previous report; null when nothing was measured in it. */
  @ApiProperty({ ...RATE, nullable: true })
  requestP50Ms: number | null;
  @ApiProperty({ ...RATE, nullable: true })
  requestP99Ms: number | null;
  /** Group commits' transactions over the interval; null when none committed. */
  @ApiProperty({ ...RATE, nullable: true })
  commitP50Ms: number | null;
  @ApiProperty({ ...RATE, nullable: true })
  commitP99Ms: number | null;
  @ApiProperty({ ...RATE, nullable: true })
  groupCommitMeanBatch: number | null;
  @ApiProperty({ type: 'number', minimum: 0, maximum: 1, nullable: true })
  cacheHitRatio: number | null;
  @ApiProperty(COUNT)
  cacheHitsTotal: number;
  @ApiProperty(COUNT)
  cacheMissesTotal: number;
  @ApiProperty(COUNT)
  throttledTotal: number;
  @ApiProperty(COUNT)
  shedTotal: number;
  @ApiProperty(COUNT)
  slowConsumersDroppedTotal: number;
  /** Room entries the instance's live delivery never saw. */
  @ApiProperty(COUNT)
  seqGapsTotal: number;
  @ApiProperty(COUNT)
  heapUsedBytes: number;
  @ApiProperty(COUNT)
  rssBytes: number;
  @ApiProperty(RATE)
  eventLoopDelayP99Ms: number;
  @ApiProperty({ ...COUNT, nullable: true })
  openFds: number | null;
}

export class FleetViewResponseDto implements FleetView {
  @ApiProperty(TIMESTAMP_SCHEMA)
  generatedAt: string;
  /** Every instance that reported lately, by `instanceId`. */
  @ApiProperty({ type: [InstanceFiguresDto], maxItems: MAX_FLEET_INSTANCES })
  instances: InstanceFiguresDto[];
}

export class ConsoleLiveMemberDto {
  @ApiProperty(UUID_SCHEMA)
  userId: string;
  @ApiProperty({ maxLength: USERNAME_MAX_LENGTH })
  username: string;
  /** Live connections of the user in the room, fleet-wide. */
  @ApiProperty(COUNT)
  connections: number;
  /** The instances holding them. */
  @ApiProperty({
    type: [String],
    maxItems: MAX_FLEET_INSTANCES,
    items: { maxLength: INSTANCE_ID_MAX_LENGTH },
  })
  instances: string[];
}

export class ConsoleRoomEntryDto {
  @ApiProperty(SEQ_SCHEMA)
  seq: number;
  @ApiProperty({ enum: ['message', 'edit', 'delete'], enumName: 'ConsoleEntryKind' })
  kind: RoomEventKind;
  @ApiProperty(UUID_SCHEMA)
  senderId: string;
  @ApiProperty(TIMESTAMP_SCHEMA)
  createdAt: string;
}

export class ConsoleRoomResponseDto {
  room: RoomResponseDto;
  /**
   * Members with a live connection in the room on any instance that answered, by username: the
   * first CONSOLE_ROOM_LIVE_MEMBERS of `liveMembersTotal`.
   */
  @ApiProperty({ type: [ConsoleLiveMemberDto], maxItems: CONSOLE_ROOM_LIVE_MEMBERS })
  liveMembers: ConsoleLiveMemberDto[];
  @ApiProperty(COUNT)
  liveMembersTotal: number;
  /** The newest entries, newest first (no bodies). */
  @ApiProperty({ type: [ConsoleRoomEntryDto], maxItems: CONSOLE_ROOM_ENTRIES })
  lastEntries: ConsoleRoomEntryDto[];
  /** Instances that answered within the wait, of those asked (the live ones). */
  @ApiProperty(COUNT)
  instancesAnswered: number;
  @ApiProperty(COUNT)
  instancesAsked: number;
}

export class DisconnectUserResponseDto {
  @ApiProperty(UUID_SCHEMA)
  userId: string;
  /** Connections closed (1008), on the instances that answered. */
  @ApiProperty(COUNT)
  closedConnections: number;
  @ApiProperty(COUNT)
  instancesAnswered: number;
  @ApiProperty(COUNT)
  instancesAsked: number;
}

export function toConsoleRoomResponse(view: ConsoleRoomView): ConsoleRoomResponseDto {
  return {
    room: toRoomResponse({ room: view.room, lastReadSeq: null }),
    liveMembers: view.liveMembers,
    liveMembersTotal: view.liveMembersTotal,
    lastEntries: view.lastEntries.map((entry) => ({
      ...entry,
      createdAt: entry.createdAt.toISOString(),
    })),
    instancesAnswered: view.instancesAnswered,
    instancesAsked: view.instancesAsked,
  };
}

export function toDisconnectUserResponse(outcome: DisconnectOutcome): DisconnectUserResponseDto {
  return outcome;
}
