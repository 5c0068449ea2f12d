import { Logger } from '@nestjs/common';
import { AppError } from '@app/common/errors/app-error';
import { RequestValidationError } from '@app/common/validation/request-validation.error';
import { RoomSequence } from '@app/rooms/room-sequence';
import { RoomsService } from '@app/rooms/rooms.service';
import { UsersService } from '@app/users/users.service';
import { Message } from './message.entity';
import { AppendResult, MessagesRepository, NewMessage } from './messages.repository';
import { MessagesService } from './messages.service';

const ROOM_ID = '11111111-1111-4111-8111-111111111111';
const SENDER_ID = '22222222-2222-4222-8222-222222222222';

const ROOM_AUDIENCE = { kind: 'room' } as const;

function committed(message: NewMessage, seq: number): Message {
  return { ...message, seq };
}

describe(MessagesService.name, () => {
  let outcomes: ((message: NewMessage) => AppendResult)[];
  let repository: { append: jest.Mock; listRange: jest.Mock };
  let rooms: {
    assertMember: jest.Mock;
    assertReadable: jest.Mock;
    getOrCreateDirectRoom: jest.Mock;
  };
  let users: { getUser: jest.Mock };
  let events: { messageCommitted: jest.Mock };
  let sequence: { messagesStored: jest.Mock };
  let service: MessagesService;

  beforeEach(() => {
    outcomes = [];
    repository = {
      append: jest.fn((message: NewMessage) => {
        const next = outcomes.shift();
        if (!next) {
          throw new Error('unexpected append');
        }
        return Promise.resolve(next(message));
      }),
      listRange: jest.fn(() => Promise.resolve([])),
    };
    rooms = {
      assertMember: jest.fn(() => Promise.resolve()),
      assertReadable: jest.fn(() => Promise.resolve()),
      getOrCreateDirectRoom: jest.fn(() => Promise.resolve({ id: ROOM_ID })),
    };
    users = { getUser: jest.fn(() => Promise.resolve()) };
    events = { messageCommitted: jest.fn() };
    sequence = { messagesStored: jest.fn(() => Promise.resolve()) };
    service = new MessagesService(
      repository as unknown as MessagesRepository,
      rooms as unknown as RoomsService,
      users as unknown as UsersService,
      events,
      sequence as unknown as RoomSequence,
    );
  });

  describe('post', () => {
    it('returns the committed message and publishes it once', async () => {
      outcomes.push((message) => ({
        outcome: 'created',
        message: committed(message, 7),
        audience: ROOM_AUDIENCE,
      }));

      const message = await service.post(SENDER_ID, ROOM_ID, 'hello', 'c1');

      expect(message).toMatchObject({
        roomId: ROOM_ID,
        senderId: SENDER_ID,
        seq: 7,
        clientMsgId: 'c1',
      });
      expect(events.messageCommitted).toHaveBeenCalledTimes(1);
      expect(events.messageCommitted).toHaveBeenCalledWith(
        expect.objectContaining({
          id: message.id,
          seq: 7,
          createdAt: message.createdAt.toISOString(),
        }),
        ROOM_AUDIENCE,
      );
    });

    it('invalidates the cached history before it resolves, and before publishing', async () => {
      const order: string[] = [];
      sequence.messagesStored.mockImplementation(() => {
        order.push('invalidated');
        return Promise.resolve();
      });
      events.messageCommitted.mockImplementation(() => order.push('published'));
      outcomes.push((message) => ({
        outcome: 'created',
        message: committed(message, 1),
        audience: ROOM_AUDIENCE,
      }));

      await service.post(SENDER_ID, ROOM_ID, 'hello');

      expect(sequence.messagesStored).toHaveBeenCalledWith(ROOM_ID);
      expect(order).toEqual(['invalidated', 'published']);
    });

    it('invalidates nothing when the write is refused', async () => {
      outcomes.push(() => ({ outcome: 'refused' }));
      rooms.assertMember.mockRejectedValue(new AppError('not_found', 'Room not found'));

      await expect(service.post(SENDER_ID, ROOM_ID, 'hello')).rejects.toBeInstanceOf(AppError);
      expect(sequence.messagesStored).not.toHaveBeenCalled();
    });

    it('returns the first message of a retried clientMsgId without publishing again', async () => {
      const first = committed(
        {
          id: 'first',
          roomId: ROOM_ID,
          senderId: SENDER_ID,
          body: 'hello',
          clientMsgId: 'c1',
          createdAt: new Date(),
          kind: 'message',
          messageId: null,
          editedAt: null,
          deletedAt: null,
        },
        3,
      );
      outcomes.push(() => ({ outcome: 'existing', message: first }));

      await expect(service.post(SENDER_ID, ROOM_ID, 'hello again', 'c1')).resolves.toBe(first);
      expect(events.messageCommitted).not.toHaveBeenCalled();
      expect(sequence.messagesStored).toHaveBeenCalledWith(ROOM_ID);
    });

    it('a refused write answers with the room’s access error', async () => {
      outcomes.push(() => ({ outcome: 'refused' }));
      rooms.assertMember.mockRejectedValue(new AppError('not_found', 'Room not found'));

      await expect(service.post(SENDER_ID, ROOM_ID, 'hello')).rejects.toMatchObject({
        code: 'not_found',
      });
      expect(repository.append).toHaveBeenCalledTimes(1);
    });

    it('tries once more when the sender became a member meanwhile, then gives up', async () => {
      outcomes.push(() => ({ outcome: 'refused' }));
      outcomes.push(() => ({ outcome: 'refused' }));

      await expect(service.post(SENDER_ID, ROOM_ID, 'hello')).rejects.toMatchObject({
        code: 'not_a_member',
      });
      expect(repository.append).toHaveBeenCalledTimes(2);
    });

    it('a failing publisher does not fail a committed message', async () => {
      outcomes.push((message) => ({
        outcome: 'created',
        message: committed(message, 1),
        audience: ROOM_AUDIENCE,
      }));
      events.messageCommitted.mockImplementation(() => {
        throw new Error('bus down');
      });
      const logged = jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
      try {
        await expect(service.post(SENDER_ID, ROOM_ID, 'hello')).resolves.toMatchObject({ seq: 1 });
        expect(logged).toHaveBeenCalledWith(expect.objectContaining({ message: 'bus down' }));
      } finally {
        logged.mockRestore();
      }
    });
  });

  describe('postPrivate', () => {
    it('refuses a message to oneself before touching anything', async () => {
      await expect(service.postPrivate(SENDER_ID, SENDER_ID, 'hi')).rejects.toMatchObject({
        code: 'cannot_message_self',
      });
      expect(users.getUser).not.toHaveBeenCalled();
      expect(rooms.getOrCreateDirectRoom).not.toHaveBeenCalled();
    });
  });

  describe('listRoomMessages', () => {
    it('reads newest first below `before` and returns the page oldest first', async () => {
      const rows = [5, 4, 3].map((seq) => ({ seq }) as Message);
      repository.listRange.mockResolvedValue(rows);

      const page = await service.listRoomMessages(SENDER_ID, ROOM_ID, { before: 6, limit: 2 });

      expect(repository.listRange).toHaveBeenCalledWith(
        ROOM_ID,
        { before: 6, newestFirst: true },
        3,
      );
      expect(page.items.map((message) => message.seq)).toEqual([4, 5]);
      expect(page.nextCursor).toEqual(expect.any(String));
    });

    it('refuses a cursor together with after or before', async () => {
      await expect(
        service.listRoomMessages(SENDER_ID, ROOM_ID, { after: 1, cursor: 'x', limit: 10 }),
      ).rejects.toBeInstanceOf(RequestValidationError);
    });
  });
});
