import request from 'supertest';
import { DataSource } from 'typeorm';
import { MessagesService } from '@app/messages/messages.service';
import { bearer, RegisteredUser, registerUser } from '@test/support/auth-helpers';
import { ConnectionCut, CutMoment, cutConnections } from '@test/support/postgres-faults';
import { createRoom, MessageBody, postMessage, readHistory } from '@test/support/room-helpers';
import { useTestApp } from '@test/support/test-app';
import { requireTestDatabaseUrl } from '@test/support/test-database';
import { WsTestClient } from '@test/support/ws-test-client';

/**
 * PostgreSQL committed a batch of messages, then the connection broke before its reply came:
 * the app does not know the outcome. It finds out by the messages' ids: the poster gets 201 with
 * the seq, live members get the message, nothing is stored twice, and no one gets a 500.
 */
describe('a connection lost after COMMIT, before its reply (services)', () => {
  // What is shown here is not load: no 503 on a busy test machine.
  const testApp = useTestApp({ environment: { SHED_MAX_EVENT_LOOP_DELAY_MS: '0' } });
  let dataSource: DataSource;
  let poster: RegisteredUser;
  let room: { id: string };
  let memberSocket: WsTestClient;
  let fault: ConnectionCut | undefined;

  beforeAll(async () => {
    requireTestDatabaseUrl();
    dataSource = testApp.app.get(DataSource);
    poster = await registerUser(testApp);
    const member = await registerUser(testApp);
    room = await createRoom(testApp, poster);
    memberSocket = await WsTestClient.connect(testApp.url, { token: member.accessToken });
    await memberSocket.request('join', { roomId: room.id }, 'joined');
  });

  afterEach(() => fault?.stop());

  afterAll(async () => {
    await memberSocket?.closeAndWait();
  });

  /** Cuts the connection of the next append whose bodies include one of `bodies`. */
  const cutAppend = (moment: CutMoment, ...bodies: string[]) => {
    fault = cutConnections(
      dataSource,
      (text, values) =>
        text.includes('INSERT INTO "messages"') &&
        bodies.some((body) => JSON.stringify(values).includes(body)),
      moment,
    );
    return fault;
  };

  const post = (body: string, clientMsgId?: string) =>
    request(testApp.server)
      .post(`/api/rooms/${room.id}/messages`)
      .set(bearer(poster.accessToken))
      .send(clientMsgId === undefined ? { body } : { body, clientMsgId });

  /** The messages of the room with this body. */
  const storedWithBody = async (body: string) =>
    (await readHistory(testApp, poster, room.id)).filter((message) => message.body === body);

  it('positive control: without a fault a post is answered and delivered live', async () => {
    const posted = await postMessage(testApp, poster, room.id, { body: 'no fault' });

    expect((await memberSocket.next('message')).data).toEqual(posted);
  });

  it('with a clientMsgId: 201 with its seq, delivered live, and a retry gets the same message', async () => {
    const lost = cutAppend('after its commit', 'lost reply, with clientMsgId');

    const response = await post('lost reply, with clientMsgId', 'lost-1');

    expect(lost.cut).toBe(1);
    expect(response.status).toBe(201);
    const posted = response.body as MessageBody;
    expect((await memberSocket.next('message')).data).toEqual(posted);
    const retry = await post('lost reply, with clientMsgId', 'lost-1');
    expect({ status: retry.status, body: retry.body as unknown }).toEqual({
      status: 201,
      body: posted,
    });
    expect(await storedWithBody('lost reply, with clientMsgId')).toEqual([posted]);
  });

  it('without a clientMsgId: 201 with its seq, delivered live, stored once', async () => {
    const lost = cutAppend('after its commit', 'lost reply, no clientMsgId');

    const response = await post('lost reply, no clientMsgId');

    expect(lost.cut).toBe(1);
    expect(response.status).toBe(201);
    const posted = response.body as MessageBody;
    expect((await memberSocket.next('message')).data).toEqual(posted);
    expect(await storedWithBody('lost reply, no clientMsgId')).toEqual([posted]);
  });

  it('cut before PostgreSQL saw it: stored by the next attempt, 201, delivered live, once', async () => {
    const lost = cutAppend('before it is sent', 'never reached the server');

    const response = await post('never reached the server', 'unsent-1');

    expect(lost.cut).toBe(1);
    expect(response.status).toBe(201);
    const posted = response.body as MessageBody;
    expect((await memberSocket.next('message')).data).toEqual(posted);
    expect(await storedWithBody('never reached the server')).toEqual([posted]);
  });

  it('a batch of several: each is answered as created, delivered live, stored once', async () => {
    const lost = cutAppend(
      'after its commit',
      'batched, with clientMsgId',
      'batched, no clientMsgId',
    );
    const messages = testApp.app.get(MessagesService);

    // Posted in one turn of the event loop: one batch, one statement.
    const answers = await Promise.allSettled([
      messages.post(poster.id, room.id, 'batched, with clientMsgId', 'batched-1'),
      messages.post(poster.id, room.id, 'batched, no clientMsgId'),
    ]);

    expect(lost.cut).toBe(1);
    expect(answers.map((answer) => answer.status)).toEqual(['fulfilled', 'fulfilled']);
    const live = [
      (await memberSocket.next('message')).data,
      (await memberSocket.next('message')).data,
    ].map((message) => message.body);
    expect(live.sort()).toEqual(['batched, no clientMsgId', 'batched, with clientMsgId']);
    expect(await storedWithBody('batched, with clientMsgId')).toHaveLength(1);
    expect(await storedWithBody('batched, no clientMsgId')).toHaveLength(1);
    const history = await readHistory(testApp, poster, room.id);
    expect(history.map((message) => message.seq)).toEqual(history.map((_, i) => i + 1));
  });
});
