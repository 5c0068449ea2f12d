import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { CloseCode, RoomEventKind } from '@libs/protocol';
import { AppError } from '@app/common/errors/app-error';
import { isUuid } from '@app/common/pagination/pagination';
import { MessagesService } from '@app/messages/messages.service';
import { RoomModerationService } from '@app/rooms/room-moderation.service';
import type { Room } from '@app/rooms/room.entity';
import { RoomsService } from '@app/rooms/rooms.service';
import { ConnectionRegistry } from '@app/realtime/connection-registry';
import { UsersService } from '@app/users/users.service';
import { FleetQueries } from './fleet-queries';

/** Entries a room view shows. */
export const CONSOLE_ROOM_ENTRIES = 20;
/** Live members a room view lists (of all it counts). */
export const CONSOLE_ROOM_LIVE_MEMBERS = 500;

/** One user's live connections in a room, on one instance. */
interface LocalMember {
  userId: string;
  connections: number;
}

export interface LiveMember {
  userId: string;
  username: string;
  connections: number;
  instances: string[];
}

export interface ConsoleRoomView {
  room: Room;
  liveMembers: LiveMember[];
  liveMembersTotal: number;
  lastEntries: { seq: number; kind: RoomEventKind; senderId: string; createdAt: Date }[];
  instancesAnswered: number;
  instancesAsked: number;
}

export interface DisconnectOutcome {
  userId: string;
  closedConnections: number;
  instancesAnswered: number;
  instancesAsked: number;
}

/**
 * What an operator does from the console. Every action is audited: one log line at `warn` with
 * `audit: true`, who did it, what and to whom. Live state comes from every instance (FleetQueries):
 * each knows only its own connections.
 */
@Injectable()
export class ConsoleService implements OnModuleInit {
  private readonly logger = new Logger(ConsoleService.name);

  constructor(
    private readonly queries: FleetQueries,
    private readonly registry: ConnectionRegistry,
    private readonly rooms: RoomsService,
    private readonly moderation: RoomModerationService,
    private readonly messages: MessagesService,
    private readonly users: UsersService,
  ) {}

  onModuleInit(): void {
    this.queries.handle('roomMembers', (payload) => this.localMembers(idIn(payload, 'roomId')));
    this.queries.handle('disconnectUser', (payload) => this.closeLocally(idIn(payload, 'userId')));
  }

  async viewRoom(roomId: string): Promise<ConsoleRoomView> {
    const room = await this.rooms.findRoom(roomId);
    const [{ answers, asked }, entries] = await Promise.all([
      this.queries.ask<LocalMember[]>('roomMembers', { roomId }),
      this.messages.latestEntries(roomId, CONSOLE_ROOM_ENTRIES),
    ]);
    const members = new Map<string, { connections: number; instances: string[] }>();
    for (const { instanceId, answer } of answers) {
      for (const { userId, connections } of answer) {
        const member = members.get(userId) ?? { connections: 0, instances: [] };
        member.connections += connections;
        member.instances.push(instanceId);
        members.set(userId, member);
      }
    }
    // The list is cut by id before names are looked up: one bounded query for a crowded room.
    const listed = [...members.keys()].sort().slice(0, CONSOLE_ROOM_LIVE_MEMBERS);
    const profiles = await this.users.getUsersByIds(listed);
    return {
      room,
      liveMembers: listed
        .filter((userId) => profiles.has(userId))
        .map((userId) => ({
          userId,
          username: profiles.get(userId)!.username,
          ...members.get(userId)!,
        }))
        .sort((a, b) => a.username.localeCompare(b.username)),
      liveMembersTotal: members.size,
      lastEntries: entries.map(({ seq, kind, senderId, createdAt }) => ({
        seq,
        kind,
        senderId,
        createdAt,
      })),
      instancesAnswered: answers.length,
      instancesAsked: asked,
    };
  }

  /** Closes every connection of the user on every instance (1008): the typed client stays off. */
  async disconnectUser(operatorId: string, userId: string): Promise<DisconnectOutcome> {
    await this.users.getUser(userId);
    const { answers, asked } = await this.queries.ask<number>('disconnectUser', { userId });
    const closedConnections = answers.reduce((sum, { answer }) => sum + answer, 0);
    this.audit(operatorId, 'disconnect_user', { userId, closedConnections });
    return { userId, closedConnections, instancesAnswered: answers.length, instancesAsked: asked };
  }

  async removeMember(operatorId: string, roomId: string, userId: string): Promise<void> {
    await this.moderation.removeMemberAsOperator(roomId, userId);
    this.audit(operatorId, 'remove_room_member', { roomId, userId });
  }

  private localMembers(roomId: string): LocalMember[] {
    const byUser = new Map<string, number>();
    for (const connection of this.registry.membersOf(roomId)) {
      byUser.set(connection.user.id, (byUser.get(connection.user.id) ?? 0) + 1);
    }
    return [...byUser].map(([userId, connections]) => ({ userId, connections }));
  }

  private closeLocally(userId: string): number {
    const connections = [...this.registry.connectionsOf(userId)];
    for (const connection of connections) {
      connection.close(CloseCode.PolicyViolation, 'Closed by an operator');
    }
    return connections.length;
  }

  private audit(operatorId: string, action: string, target: Record<string, unknown>): void {
    this.logger.warn({ audit: true, operatorId, action, ...target }, 'Console action');
  }
}

/** A fleet query's id field: a query from another instance is checked like any input. */
function idIn(payload: unknown, field: string): string {
  const value = (payload as Record<string, unknown> | null)?.[field];
  if (typeof value !== 'string' || !isUuid(value)) {
    throw new AppError('not_found', `A console query without a valid ${field}`);
  }
  return value;
}
