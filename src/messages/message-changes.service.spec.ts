import { AppError } from '@app/common/errors/app-error';
import { RoomSequence } from '@app/rooms/room-sequence';
import { RoomsService } from '@app/rooms/rooms.service';
import {
  ChangeRefusal,
  ChangeResult,
  MessageChange,
  MessageChangesRepository,
} from './message-changes.repository';
import { MessageChangesService } from './message-changes.service';
import { Message } from './message.entity';

const ROOM_ID = '11111111-1111-4111-8111-111111111111';
const USER_ID = '22222222-2222-4222-8222-222222222222';
const MESSAGE_ID = '33333333-3333-4333-8333-333333333333';
const ROOM_AUDIENCE = { kind: 'room' } as const;

function stored(change: MessageChange, seq: number): Message {
  return { ...change, seq, editedAt: null, deletedAt: null };
}

describe(MessageChangesService.name, () => {
  let outcomes: ((change: MessageChange) => ChangeResult)[];
  let repository: { apply: jest.Mock<Promise<ChangeResult>, [MessageChange]> };
  let rooms: { assertMember: jest.Mock };
  let events: { messageCommitted: jest.Mock };
  let sequence: { messagesStored: jest.Mock };
  let service: MessageChangesService;

  beforeEach(() => {
    outcomes = [];
    repository = {
      apply: jest.fn((change: MessageChange) => {
        const next = outcomes.shift();
        if (!next) {
          throw new Error('unexpected change');
        }
        return Promise.resolve(next(change));
      }),
    };
    rooms = { assertMember: jest.fn(() => Promise.resolve()) };
    events = { messageCommitted: jest.fn() };
    sequence = { messagesStored: jest.fn(() => Promise.resolve()) };
    service = new MessageChangesService(
      repository as unknown as MessageChangesRepository,
      rooms as unknown as RoomsService,
      events,
      sequence as unknown as RoomSequence,
    );
  });

  it('stores an edit entry, invalidates the room, then publishes it once', async () => {
    const order: string[] = [];
    sequence.messagesStored.mockImplementation(() => Promise.resolve(order.push('invalidated')));
    events.messageCommitted.mockImplementation(() => order.push('published'));
    outcomes.push((change) => ({
      outcome: 'created',
      entry: stored(change, 4),
      audience: ROOM_AUDIENCE,
    }));

    const entry = await service.editMessage(USER_ID, ROOM_ID, MESSAGE_ID, 'new text', 'k1');

    expect(repository.apply).toHaveBeenCalledWith(
      expect.objectContaining({
        kind: 'edit',
        senderId: USER_ID,
        roomId: ROOM_ID,
        messageId: MESSAGE_ID,
        body: 'new text',
        clientMsgId: 'k1',
      }),
    );
    expect(entry).toMatchObject({ kind: 'edit', seq: 4, messageId: MESSAGE_ID });
    expect(order).toEqual(['invalidated', 'published']);
    expect(events.messageCommitted).toHaveBeenCalledWith(
      expect.objectContaining({ id: entry.id, kind: 'edit', seq: 4 }),
      ROOM_AUDIENCE,
    );
  });

  it('a second delete answers the first delete entry: invalidated again, not published again', async () => {
    const first = stored(
      {
        kind: 'delete',
        id: 'first-delete',
        roomId: ROOM_ID,
        senderId: USER_ID,
        messageId: MESSAGE_ID,
        body: '',
        clientMsgId: null,
        createdAt: new Date(),
      },
      5,
    );
    outcomes.push(() => ({ outcome: 'existing', entry: first }));

    await expect(service.deleteMessage(USER_ID, ROOM_ID, MESSAGE_ID)).resolves.toBe(first);
    expect(repository.apply).toHaveBeenCalledWith(
      expect.objectContaining({ kind: 'delete', body: '', clientMsgId: null }),
    );
    expect(sequence.messagesStored).toHaveBeenCalledWith(ROOM_ID);
    expect(events.messageCommitted).not.toHaveBeenCalled();
  });

  it.each<[ChangeRefusal, string, number]>([
    ['no_message', 'not_found', 404],
    ['not_allowed', 'forbidden', 403],
    ['deleted', 'conflict', 409],
    ['key_reused', 'conflict', 409],
  ])('a refusal (%s) is %s: nothing invalidated or published', async (reason, code, status) => {
    outcomes.push(() => ({ outcome: 'refused', reason }));

    const refused = service.editMessage(USER_ID, ROOM_ID, MESSAGE_ID, 'x');

    await expect(refused).rejects.toBeInstanceOf(AppError);
    await expect(refused).rejects.toMatchObject({ code, status });
    expect(sequence.messagesStored).not.toHaveBeenCalled();
    expect(events.messageCommitted).not.toHaveBeenCalled();
    expect(rooms.assertMember).not.toHaveBeenCalled();
  });

  it("a non-member gets the room's access error (404 or 403)", async () => {
    outcomes.push(() => ({ outcome: 'refused', reason: 'not_member' }));
    rooms.assertMember.mockRejectedValue(new AppError('not_found', 'Room not found'));

    await expect(service.deleteMessage(USER_ID, ROOM_ID, MESSAGE_ID)).rejects.toMatchObject({
      code: 'not_found',
    });
    expect(repository.apply).toHaveBeenCalledTimes(1);
  });

  it('tries once more when the caller became a member meanwhile, with a new entry id', async () => {
    outcomes.push(() => ({ outcome: 'refused', reason: 'not_member' }));
    outcomes.push((change) => ({
      outcome: 'created',
      entry: stored(change, 2),
      audience: ROOM_AUDIENCE,
    }));

    await expect(service.editMessage(USER_ID, ROOM_ID, MESSAGE_ID, 'x')).resolves.toMatchObject({
      seq: 2,
    });
    const [[first], [second]] = repository.apply.mock.calls;
    expect(second.id).not.toBe(first.id);
    expect(events.messageCommitted).toHaveBeenCalledTimes(1);
  });
});
