import { UsersService } from '@app/users/users.service';
import { RoomCache } from './room-cache';
import { RoomEvents } from './room-events';
import { Room, RoomVisibility } from './room.entity';
import { RoomBansRepository } from './room-bans.repository';
import { RoomsRepository } from './rooms.repository';
import { RoomsService } from './rooms.service';

const ROOM_ID = '11111111-1111-4111-8111-111111111111';
const OWNER_ID = '22222222-2222-4222-8222-222222222222';
const USER_ID = '33333333-3333-4333-8333-333333333333';

function aRoom(visibility: RoomVisibility): Room {
  return {
    id: ROOM_ID,
    name: 'room',
    visibility,
    ownerId: OWNER_ID,
    directKey: null,
    lastSeq: 0,
    createdAt: new Date(),
  };
}

describe(RoomsService.name, () => {
  let room: Room | null;
  let members: Set<string>;
  let repository: Record<
    | 'findAccess'
    | 'findById'
    | 'findMember'
    | 'delete'
    | 'deleteMember'
    | 'deleteMemberUnlessOwner'
    | 'insertMemberUnlessBanned',
    jest.Mock
  >;
  let banned: Set<string>;
  let cache: Record<'visibility' | 'isMember' | 'membershipChanged' | 'roomDeleted', jest.Mock>;
  let events: RoomEvents;
  let order: string[];
  let service: RoomsService;

  beforeEach(() => {
    room = aRoom(RoomVisibility.Private);
    members = new Set([OWNER_ID]);
    banned = new Set();
    order = [];
    repository = {
      findAccess: jest.fn((roomId: string, userId: string) =>
        Promise.resolve(room && { room, isMember: members.has(userId) }),
      ),
      findById: jest.fn(() => Promise.resolve(room)),
      findMember: jest.fn((roomId: string, userId: string) =>
        Promise.resolve(members.has(userId) ? { roomId, userId, joinedAt: new Date() } : null),
      ),
      delete: jest.fn(() => Promise.resolve()),
      deleteMember: jest.fn((roomId: string, userId: string) => {
        members.delete(userId);
        return Promise.resolve();
      }),
      deleteMemberUnlessOwner: jest.fn((roomId: string, userId: string) => {
        if (room?.ownerId === userId) {
          return Promise.resolve(false);
        }
        members.delete(userId);
        return Promise.resolve(true);
      }),
      insertMemberUnlessBanned: jest.fn(({ userId }: { userId: string }) => {
        const added = !members.has(userId) && !banned.has(userId);
        members.add(userId);
        return Promise.resolve(added);
      }),
    };
    // The cache's contract without its memory: every question goes to the loader.
    cache = {
      visibility: jest.fn((_roomId: string, load: () => Promise<unknown>) => load()),
      isMember: jest.fn((_roomId: string, _userId: string, load: () => Promise<unknown>) => load()),
      membershipChanged: jest.fn(() => {
        order.push('invalidated');
        return Promise.resolve();
      }),
      roomDeleted: jest.fn(() => {
        order.push('invalidated');
        return Promise.resolve();
      }),
    };
    events = new RoomEvents();
    events.accessRevoked.subscribe(() => order.push('revoked'));
    service = new RoomsService(
      repository as unknown as RoomsRepository,
      {
        isBanned: jest.fn((_roomId: string, userId: string) => Promise.resolve(banned.has(userId))),
      } as unknown as RoomBansRepository,
      {} as UsersService,
      events,
      cache as unknown as RoomCache,
    );
  });

  describe('assertReadable', () => {
    it('lets anyone read a public room without asking about membership', async () => {
      room = aRoom(RoomVisibility.Public);

      await expect(service.assertReadable(USER_ID, ROOM_ID)).resolves.toBeUndefined();

      expect(cache.visibility).toHaveBeenCalledWith(ROOM_ID, expect.any(Function));
      expect(cache.isMember).not.toHaveBeenCalled();
    });

    it('lets a member read a private room', async () => {
      await expect(service.assertReadable(OWNER_ID, ROOM_ID)).resolves.toBeUndefined();
      expect(cache.isMember).toHaveBeenCalledWith(ROOM_ID, OWNER_ID, expect.any(Function));
    });

    it.each([
      ['a non-member of a private room', () => undefined],
      ['anyone, for a room that does not exist', () => (room = null)],
    ])('answers 404 to %s, as getReadableRoom does', async (_case, arrange) => {
      arrange();

      await expect(service.assertReadable(USER_ID, ROOM_ID)).rejects.toMatchObject({
        code: 'not_found',
      });
      await expect(service.getReadableRoom(USER_ID, ROOM_ID)).rejects.toMatchObject({
        code: 'not_found',
      });
    });
  });

  describe('invalidation before the write is acknowledged', () => {
    it('a leave invalidates the leaver’s access, then revokes live delivery', async () => {
      members.add(USER_ID);

      await service.leaveRoom(USER_ID, ROOM_ID);

      expect(cache.membershipChanged).toHaveBeenCalledWith(ROOM_ID, [USER_ID]);
      expect(order).toEqual(['invalidated', 'revoked']);
    });

    it('a deletion invalidates the whole room, then revokes live delivery', async () => {
      await service.deleteRoom(OWNER_ID, ROOM_ID);

      expect(cache.roomDeleted).toHaveBeenCalledWith(ROOM_ID);
      expect(order).toEqual(['invalidated', 'revoked']);
    });

    it('a join invalidates the joiner’s membership, and only when it changes', async () => {
      room = aRoom(RoomVisibility.Public);

      await service.joinRoom(USER_ID, ROOM_ID);
      members.add(USER_ID);
      await service.joinRoom(USER_ID, ROOM_ID);

      expect(cache.membershipChanged).toHaveBeenCalledTimes(1);
      expect(cache.membershipChanged).toHaveBeenCalledWith(ROOM_ID, [USER_ID]);
    });
  });

  describe('a join racing a ban', () => {
    beforeEach(() => (room = aRoom(RoomVisibility.Public)));

    it('a ban committed before the join: refused with `banned`, no membership', async () => {
      banned.add(USER_ID);
      repository.insertMemberUnlessBanned.mockResolvedValueOnce(false);

      await expect(service.joinRoom(USER_ID, ROOM_ID)).rejects.toMatchObject({ code: 'banned' });

      expect(repository.deleteMember).not.toHaveBeenCalled();
      expect(order).toEqual(['invalidated']);
    });

    it('a ban the insert did not see: found after it, the membership undone and revoked', async () => {
      // The insert ran on a snapshot without the ban (PostgreSQL, read committed).
      repository.insertMemberUnlessBanned.mockImplementationOnce(() => {
        members.add(USER_ID);
        banned.add(USER_ID);
        return Promise.resolve(true);
      });

      await expect(service.joinRoom(USER_ID, ROOM_ID)).rejects.toMatchObject({ code: 'banned' });

      expect(repository.deleteMember).toHaveBeenCalledWith(ROOM_ID, USER_ID);
      expect(members.has(USER_ID)).toBe(false);
      expect(order).toEqual(['invalidated', 'revoked']);
    });

    it('no ban: the join adds the member (positive control)', async () => {
      await service.joinRoom(USER_ID, ROOM_ID);

      expect(members.has(USER_ID)).toBe(true);
      expect(repository.deleteMember).not.toHaveBeenCalled();
      expect(order).toEqual(['invalidated']);
    });
  });
});
