import {
  assertClientFrame,
  checkServerFrame,
  FrameContract,
  takeFrameViolations,
} from './frame-contract';

const ID = '0b9c2a57-3f0e-4c57-9a6e-6c1f0e7f3a10';

describe(FrameContract.name, () => {
  afterEach(() => takeFrameViolations());

  it('passes a frame of the document and names the event, field and rule of one that breaks it', () => {
    expect(checkServerFrame({ event: 'joined', data: { roomId: ID, lastSeq: 0 } })).toBeUndefined();

    const problem = checkServerFrame({ event: 'joined', data: { roomId: ID, lastSeq: -1 } });

    expect(problem).toContain('A server frame "joined" breaks asyncapi.json');
    expect(problem).toContain('/data/lastSeq must be >= 0');
    expect(takeFrameViolations()).toEqual([problem]);
  });

  it('refuses an event the document does not have, from the server or a client', () => {
    expect(checkServerFrame({ event: 'join', data: { roomId: ID } })).toContain(
      'A server frame of event "join", which asyncapi.json does not have',
    );
    expect(() => assertClientFrame({ event: 'joined', data: {} })).toThrow(
      /client frame of event "joined"/,
    );
  });

  it('throws before a client frame that breaks the document is sent, pointing to sendUnchecked', () => {
    expect(() => assertClientFrame({ event: 'join', data: { roomId: ID } })).not.toThrow();
    expect(() =>
      assertClientFrame({ event: 'join', data: { roomId: ID }, ref: 'r'.repeat(65) }),
    ).toThrow(
      /"join" breaks asyncapi\.json .*\/ref must NOT have more than 64 characters.*sendUnchecked\(\)/,
    );
  });

  it('checks the entries of a room sequence by their kind', () => {
    const entry = {
      id: ID,
      roomId: ID,
      seq: 3,
      senderId: ID,
      body: '',
      clientMsgId: null,
      createdAt: '2026-12-07T20:00:00.000Z',
      kind: 'delete',
      messageId: ID,
      editedAt: null,
      deletedAt: null,
    };
    expect(checkServerFrame({ event: 'deleted', data: entry })).toBeUndefined();
    expect(checkServerFrame({ event: 'deleted', data: { ...entry, body: 'kept' } })).toContain(
      '/data/body must be equal to constant',
    );
    const tombstone = { ...entry, kind: 'message', messageId: null, deletedAt: entry.createdAt };
    const history = (messages: unknown[]) => ({
      event: 'history',
      data: { roomId: ID, messages, hasMore: false },
    });
    expect(checkServerFrame(history([tombstone, entry]))).toBeUndefined();
    expect(checkServerFrame(history([{ ...tombstone, body: 'not erased' }]))).toContain(
      '/data/messages/0',
    );
  });
});
