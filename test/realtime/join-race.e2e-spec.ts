import { RoomsService } from '@app/rooms/rooms.service';
import { registerUser, RegisteredUser } from '@test/support/auth-helpers';
import { addMember, createRoom, leaveRoom, postMessage } from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';
import { WsTestClient } from '@test/support/ws-test-client';

/** A promise whose settlement the test controls. */
function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((onResolve) => (resolve = onResolve));
  return { promise, resolve };
}

/**
 * Issue 20: a `join` that checked membership, then registered the connection, must not end in
 * the room when a leave committed in between (the leave's revocation found nothing to revoke).
 * The test holds the join between its check and its registration to make the race certain.
 */
describe('join racing a leave (e2e)', () => {
  const testApp = useTestApp({
    // Not about load shedding: a busy test machine must not answer 503.
    environment: { WS_MESSAGE_RATE: '1000', SHED_MAX_EVENT_LOOP_DELAY_MS: '0' },
  });
  const clients: WsTestClient[] = [];

  const connect = async (user: RegisteredUser) => {
    const client = await WsTestClient.connect(testApp.url, { token: user.accessToken });
    clients.push(client);
    return client;
  };

  afterEach(async () => {
    jest.restoreAllMocks();
    await Promise.all(clients.splice(0).map((client) => client.closeAndWait()));
  });

  /** The next `join` is held after its membership check until `release`. */
  function holdNextJoinAfterItsCheck() {
    const rooms = testApp.app.get(RoomsService);
    const checked = deferred();
    const release = deferred();
    const original = rooms.joinRoom.bind(rooms);
    jest.spyOn(rooms, 'joinRoom').mockImplementationOnce(async (userId, roomId) => {
      await original(userId, roomId);
      checked.resolve();
      await release.promise;
    });
    return { checked: checked.promise, release: release.resolve };
  }

  it.each(['private', 'public'] as const)(
    'a join of a %s room whose member leaves meanwhile ends outside the room',
    async (visibility) => {
      const owner = await registerUser(testApp);
      const alice = await registerUser(testApp);
      const bob = await registerUser(testApp);
      const room = await createRoom(testApp, owner, { visibility });
      await addMember(testApp, owner, room.id, alice.id);
      await addMember(testApp, owner, room.id, bob.id);
      const aliceSocket = await connect(alice);
      const bobSocket = await connect(bob);

      const hold = holdNextJoinAfterItsCheck();
      aliceSocket.send('join', { roomId: room.id });
      await hold.checked;
      await leaveRoom(testApp, alice, room.id);
      hold.release();

      expect((await aliceSocket.next('error')).data.code).toBe('not_found');
      // The control: a join without the race gets in, and gets the room's next message.
      await bobSocket.request('join', { roomId: room.id }, 'joined');
      const message = await postMessage(testApp, owner, room.id);
      expect((await bobSocket.next('message')).data.id).toBe(message.id);
      await aliceSocket.request('ping', {}, 'pong');
      expect(aliceSocket.received('joined')).toEqual([]);
      expect(aliceSocket.received('message')).toEqual([]);
      expect(aliceSocket.received('presence')).toEqual([]);
    },
  );
});
