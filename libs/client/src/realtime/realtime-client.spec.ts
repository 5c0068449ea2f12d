import {
  ClientFrame,
  CloseCode,
  RealtimeMessage,
  ServerFrame,
  TYPING_EXPIRES_MS,
} from '@libs/protocol';
import {
  RealtimeClient,
  RealtimeClientOptions,
  SendQueueFullError,
  WebSocketLike,
} from './realtime-client';

type Handler = (event: never) => void;

/**
 * A small in-memory server of the protocol: rooms with seqs, `clientMsgId` idempotency, `join`,
 * `sync` in pages, `send`, live `message` pushes to joined sockets. `down` refuses connections.
 */
class FakeServer {
  readonly sockets: FakeSocket[] = [];
  readonly rooms = new Map<string, RealtimeMessage[]>();
  readonly frames: ClientFrame[] = [];
  readonly tokens: string[] = [];
  down = false;
  /** Hold `send` frames unanswered (the server stored nothing yet). */
  holdSends = false;
  /** Leave live pushes out (best-effort delivery that lost them). */
  dropLive = false;
  pageSize = 3;

  get open(): FakeSocket[] {
    return this.sockets.filter((socket) => socket.readyState === 1);
  }

  /** Stores a message as another client would, and pushes it live. */
  post(
    roomId: string,
    body: string,
    clientMsgId: string | null = null,
    live = true,
  ): RealtimeMessage {
    const messages = this.rooms.get(roomId) ?? [];
    this.rooms.set(roomId, messages);
    const existing = clientMsgId && messages.find((m) => m.clientMsgId === clientMsgId);
    if (existing) {
      return existing;
    }
    const message: RealtimeMessage = {
      id: `${roomId}-${messages.length + 1}`,
      roomId,
      seq: messages.length + 1,
      senderId: 'someone',
      body,
      clientMsgId,
      kind: 'message',
      messageId: null,
      editedAt: null,
      deletedAt: null,
      createdAt: new Date(0).toISOString(),
    };
    messages.push(message);
    if (live && !this.dropLive) {
      for (const socket of this.open.filter((s) => s.joined.has(roomId))) {
        socket.push({ event: 'message', data: message });
      }
    }
    return message;
  }

  /** Stores an edit or delete entry of message `messageId`, and pushes it live. */
  change(
    roomId: string,
    kind: 'edit' | 'delete',
    messageId: string,
    body = '',
    clientMsgId: string | null = null,
  ): RealtimeMessage {
    const messages = this.rooms.get(roomId) ?? [];
    this.rooms.set(roomId, messages);
    const existing = clientMsgId && messages.find((m) => m.clientMsgId === clientMsgId);
    if (existing) {
      return existing;
    }
    const entry: RealtimeMessage = {
      ...this.post(roomId, body, clientMsgId, false),
      kind,
      messageId,
    };
    messages[messages.length - 1] = entry;
    if (!this.dropLive) {
      for (const socket of this.open.filter((s) => s.joined.has(roomId))) {
        socket.push({ event: kind === 'edit' ? 'edited' : 'deleted', data: entry });
      }
    }
    return entry;
  }

  handle(socket: FakeSocket, frame: ClientFrame): void {
    this.frames.push(frame);
    const answer = (event: string, data: unknown) =>
      socket.push({ event, data, ref: frame.ref } as ServerFrame);
    switch (frame.event) {
      case 'join': {
        const { roomId } = frame.data as { roomId: string };
        if (roomId === 'missing') {
          answer('error', { code: 'not_found', message: 'Room not found' });
          return;
        }
        socket.joined.add(roomId);
        answer('joined', { roomId, lastSeq: this.rooms.get(roomId)?.length ?? 0 });
        return;
      }
      case 'sync': {
        const { roomId, afterSeq } = frame.data as { roomId: string; afterSeq: number };
        const after = (this.rooms.get(roomId) ?? []).filter((m) => m.seq > afterSeq);
        answer('history', {
          roomId,
          messages: after.slice(0, this.pageSize),
          hasMore: after.length > this.pageSize,
        });
        return;
      }
      case 'send': {
        if (this.holdSends) {
          return;
        }
        const { roomId, body, clientMsgId } = frame.data as {
          roomId: string;
          body: string;
          clientMsgId?: string;
        };
        const message = this.post(roomId, body, clientMsgId ?? null);
        answer('ack', { roomId, id: message.id, seq: message.seq, clientMsgId });
        return;
      }
      case 'edit':
      case 'delete': {
        if (this.holdSends) {
          return;
        }
        const { roomId, messageId, body, clientMsgId } = frame.data as {
          roomId: string;
          messageId: string;
          body?: string;
          clientMsgId?: string;
        };
        const entry = this.change(roomId, frame.event, messageId, body, clientMsgId ?? null);
        answer('ack', { roomId, id: entry.id, seq: entry.seq, clientMsgId: entry.clientMsgId });
        return;
      }
      case 'typing':
        // Relayed to the others; no answer to the sender.
        return;
      default:
        answer('pong', {});
    }
  }

  closeAll(code: number, reason = ''): void {
    for (const socket of this.open) {
      socket.serverClose(code, reason);
    }
  }
}

class FakeSocket implements WebSocketLike {
  readyState = 0;
  readonly joined = new Set<string>();
  private readonly handlers = new Map<string, Handler[]>();

  constructor(
    private readonly server: FakeServer,
    options?: { headers: Record<string, string> },
  ) {
    server.sockets.push(this);
    server.tokens.push(options?.headers.Authorization.replace('Bearer ', '') ?? '');
    setImmediate(() => {
      if (server.down) {
        this.readyState = 3;
        this.dispatch('error', {});
        this.dispatch('close', { code: 1006, reason: '' });
      } else {
        this.readyState = 1;
        this.dispatch('open', undefined);
      }
    });
  }

  addEventListener(type: string, listener: Handler): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), listener]);
  }

  send(data: string): void {
    const frame = JSON.parse(data) as ClientFrame;
    setImmediate(() => this.readyState === 1 && this.server.handle(this, frame));
  }

  push(frame: ServerFrame): void {
    setImmediate(
      () => this.readyState === 1 && this.dispatch('message', { data: JSON.stringify(frame) }),
    );
  }

  close(code = 1000, reason = ''): void {
    this.serverClose(code, reason);
  }

  serverClose(code: number, reason: string): void {
    if (this.readyState >= 2) {
      return;
    }
    this.readyState = 3;
    setImmediate(() => this.dispatch('close', { code, reason }));
  }

  private dispatch(type: string, event: unknown): void {
    for (const handler of this.handlers.get(type) ?? []) {
      handler(event as never);
    }
  }
}

async function eventually(condition: () => boolean, what: string, timeoutMs = 2000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe(RealtimeClient.name, () => {
  let server: FakeServer;
  const clients: RealtimeClient[] = [];

  const connect = async (options: Partial<RealtimeClientOptions> = {}) => {
    const WebSocket = function (_url: string, init?: { headers: Record<string, string> }) {
      return new FakeSocket(server, init);
    } as unknown as RealtimeClientOptions['WebSocket'];
    const client = await RealtimeClient.connect({
      baseUrl: 'http://127.0.0.1:1',
      accessToken: 'token-1',
      WebSocket,
      reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
      timeoutMs: 1000,
      ...options,
    });
    clients.push(client);
    return client;
  };

  beforeEach(() => {
    server = new FakeServer();
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) {
      client.close();
      await client.closed;
    }
  });

  it('resumes after a lost connection: rejoins, syncs page by page, hands on every message once and in order', async () => {
    const client = await connect();
    const seen: number[] = [];
    const events: string[] = [];
    client.on('message', (message) => seen.push(message.seq));
    client.on('reconnecting', () => events.push('reconnecting'));
    client.on('reconnected', () => events.push('reconnected'));
    server.post('room', 'before the join');
    await client.join('room');
    server.post('room', 'live 2');
    server.post('room', 'live 3');
    await eventually(() => seen.length === 2, 'the live messages');

    // Down before the close: the reconnect (5 ms) must not win a race with this test's 2 ms poll on a busy machine.
    server.down = true;
    server.closeAll(CloseCode.GoingAway);
    await eventually(() => events.includes('reconnecting'), 'reconnecting');
    // Meanwhile, more than two pages of messages.
    for (let i = 4; i <= 11; i++) {
      server.post('room', `missed ${i}`);
    }
    server.down = false;
    await eventually(() => events.includes('reconnected'), 'reconnected');
    server.post('room', 'live 12');

    await eventually(() => seen.at(-1) === 12, 'message 12');
    expect(seen).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(events.at(-1)).toBe('reconnected');
    const syncs = server.frames.filter((frame) => frame.event === 'sync').map((f) => f.data);
    expect(syncs).toEqual([
      { roomId: 'room', afterSeq: 3, limit: 200 },
      { roomId: 'room', afterSeq: 6, limit: 200 },
      { roomId: 'room', afterSeq: 9, limit: 200 },
    ]);
  });

  it('fills a gap in live delivery with sync before handing on later messages', async () => {
    const client = await connect();
    const seen: number[] = [];
    client.on('message', (message) => seen.push(message.seq));
    await client.join('room');
    server.post('room', '1');
    server.dropLive = true;
    server.post('room', '2 (lost)');
    server.dropLive = false;
    server.post('room', '3');

    await eventually(() => seen.length === 3, 'three messages');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('retries an unacknowledged send on the new connection with the same clientMsgId: stored once', async () => {
    const client = await connect();
    await client.join('room');
    server.holdSends = true;
    const sent = client.send('room', 'hello');
    await eventually(() => server.frames.some((f) => f.event === 'send'), 'the first send');

    // The first try reached the server and was stored; its ack is lost with the connection.
    const first = server.frames.find((f) => f.event === 'send')!.data as { clientMsgId: string };
    server.post('room', 'hello', first.clientMsgId);
    server.holdSends = false;
    server.closeAll(CloseCode.GoingAway);

    const ack = await sent;
    const sends = server.frames.filter((f) => f.event === 'send').map((f) => f.data);
    expect(sends).toHaveLength(2);
    expect(sends[1]).toEqual(sends[0]);
    expect(ack).toMatchObject({ seq: 1, clientMsgId: first.clientMsgId });
    expect(server.rooms.get('room')).toHaveLength(1);
  });

  it('queues sends while disconnected, up to the bound, and sends them in order once back', async () => {
    const client = await connect({ maxQueuedSends: 3 });
    await client.join('room');
    server.down = true;
    server.closeAll(CloseCode.GoingAway);
    await eventually(() => !client.connected, 'the disconnect');

    const queued = [
      client.send('room', 'a'),
      client.send('room', 'b', 'mine'),
      client.send('room', 'c'),
    ];
    await expect(client.send('room', 'd')).rejects.toBeInstanceOf(SendQueueFullError);
    await expect(client.send('room', 'd')).rejects.toThrow(/3 sends are waiting/);
    server.down = false;

    const acks = await Promise.all(queued);
    expect(acks.map((ack) => ack.seq)).toEqual([1, 2, 3]);
    expect(acks[1].clientMsgId).toBe('mine');
    expect(server.rooms.get('room')!.map((m) => m.body)).toEqual(['a', 'b', 'c']);
    // Room for more once acknowledged.
    await expect(client.send('room', 'd')).resolves.toMatchObject({ seq: 4 });
  });

  it('answers a join made while disconnected once the connection is back', async () => {
    const client = await connect();
    server.down = true;
    server.closeAll(CloseCode.GoingAway);
    await eventually(() => !client.connected, 'the disconnect');

    const joined = client.join('room');
    server.post('room', 'one');
    server.down = false;

    await expect(joined).resolves.toEqual({ roomId: 'room', lastSeq: 1 });
  });

  it('stops for good on 1008, and on 4401 when no fresh token comes', async () => {
    const abusive = await connect();
    const attempts: number[] = [];
    abusive.on('reconnecting', ({ attempt }) => attempts.push(attempt));
    server.holdSends = true;
    const pending = abusive.send('room', 'never acknowledged');
    server.closeAll(CloseCode.PolicyViolation, 'Rate limit');
    expect(await abusive.closed).toEqual({ code: 1008, reason: 'Rate limit' });
    await expect(pending).rejects.toThrow(/closed \(1008\)/);

    const expired = await connect({ accessToken: () => 'token-1' });
    server.closeAll(CloseCode.TokenExpired);
    expect((await expired.closed).code).toBe(4401);

    expect(attempts).toEqual([]);
    expect(server.sockets).toHaveLength(2);
    await expect(expired.join('room')).rejects.toThrow('The client is closed');
    await expect(expired.send('room', 'late')).rejects.toThrow('The client is closed');
  });

  it('reconnects with a fresh token after 4401', async () => {
    let token = 'token-1';
    const client = await connect({ accessToken: () => token });
    const reconnected = new Promise((resolve) => client.on('reconnected', resolve));
    token = 'token-2';
    server.closeAll(CloseCode.TokenExpired);

    await reconnected;
    expect(server.tokens).toEqual(['token-1', 'token-2']);
    expect(client.connected).toBe(true);
  });

  it('drops a room the server no longer lets it join, and rejects its waiting join', async () => {
    const client = await connect();
    await expect(client.join('missing')).rejects.toMatchObject({ code: 'not_found' });
    server.down = true;
    server.closeAll(CloseCode.GoingAway);
    await eventually(() => !client.connected, 'the disconnect');
    const joined = client.join('missing');
    server.down = false;

    await expect(joined).rejects.toMatchObject({ code: 'not_found' });
  });

  it('sends typing at most once per room every interval, and nothing while disconnected', async () => {
    const client = await connect();
    await client.join('room');
    const typingSent = () => server.frames.filter((frame) => frame.event === 'typing');

    expect(client.typing('room')).toBe(true);
    expect(client.typing('room')).toBe(false);
    expect(client.typing('other')).toBe(true);
    await eventually(() => typingSent().length === 2, 'the typing frames');
    expect(typingSent().map((frame) => frame.data)).toEqual([
      { roomId: 'room' },
      { roomId: 'other' },
    ]);

    server.down = true;
    server.closeAll(CloseCode.GoingAway);
    await eventually(() => !client.connected, 'the disconnect');
    expect(client.typing('third')).toBe(false);
    expect(typingSent()).toHaveLength(2);
  });

  it("surfaces typing, and typingStopped on expiry or on the typer's message; no timer outlives close", async () => {
    const client = await connect();
    await client.join('room');
    const events: string[] = [];
    client.on('typing', ({ roomId, userId }) => events.push(`typing ${roomId} ${userId}`));
    client.on('typingStopped', ({ roomId, userId }) => events.push(`stopped ${roomId} ${userId}`));
    client.on('message', ({ senderId }) => events.push(`message ${senderId}`));
    const flush = async () => {
      for (let turn = 0; turn < 5; turn++) {
        await new Promise((resolve) => setImmediate(resolve));
      }
    };
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    try {
      const [socket] = server.open;
      socket.push({ event: 'typing', data: { roomId: 'room', userId: 'someone' } });
      socket.push({ event: 'typing', data: { roomId: 'room', userId: 'bob' } });
      await flush();
      // `someone` posts: their typing ends with the message, bob's goes on.
      server.post('room', 'done typing');
      await flush();
      expect(events).toEqual([
        'typing room someone',
        'typing room bob',
        'stopped room someone',
        'message someone',
      ]);
      jest.advanceTimersByTime(TYPING_EXPIRES_MS);
      expect(events.at(-1)).toBe('stopped room bob');

      socket.push({ event: 'typing', data: { roomId: 'room', userId: 'carol' } });
      await flush();
      client.close();
      await client.closed;
      jest.advanceTimersByTime(TYPING_EXPIRES_MS * 2);
      expect(events.filter((event) => event.includes('carol'))).toEqual(['typing room carol']);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });

  it('hands on edits and deletes as `edited` and `deleted`, in seq order with messages, live and after a resume', async () => {
    const client = await connect();
    const seen: string[] = [];
    client.on('message', (message) => seen.push(`message ${message.seq}`));
    client.on('edited', (entry) => seen.push(`edited ${entry.seq} of ${entry.messageId}`));
    client.on('deleted', (entry) => seen.push(`deleted ${entry.seq} of ${entry.messageId}`));
    const reconnected = new Promise((resolve) => client.on('reconnected', resolve));
    await client.join('room');
    const first = server.post('room', 'first');
    server.change('room', 'edit', first.id, 'first, edited');
    await eventually(() => seen.length === 2, 'the live message and edit');

    server.down = true;
    server.closeAll(CloseCode.GoingAway);
    await eventually(() => !client.connected, 'the disconnect');
    // Made while the client is away: it finds them with sync.
    const second = server.post('room', 'second');
    server.change('room', 'edit', second.id, 'second, edited');
    server.change('room', 'delete', first.id);
    server.down = false;
    await reconnected;
    server.change('room', 'delete', second.id);

    await eventually(() => seen.length === 6, 'every entry');
    expect(seen).toEqual([
      'message 1',
      `edited 2 of ${first.id}`,
      'message 3',
      `edited 4 of ${second.id}`,
      `deleted 5 of ${first.id}`,
      `deleted 6 of ${second.id}`,
    ]);
    expect(server.frames.filter((frame) => frame.event === 'sync')).toHaveLength(1);
  });

  it('fills a gap left by a lost `edited` with sync before handing on the next message', async () => {
    const client = await connect();
    const seen: string[] = [];
    client.on('message', (message) => seen.push(`message ${message.seq}`));
    client.on('edited', (entry) => seen.push(`edited ${entry.seq}`));
    await client.join('room');
    const first = server.post('room', 'first');
    server.dropLive = true;
    server.change('room', 'edit', first.id, 'edited, lost live');
    server.dropLive = false;
    server.post('room', 'third');

    await eventually(() => seen.length === 3, 'three entries');
    expect(seen).toEqual(['message 1', 'edited 2', 'message 3']);
  });

  it('edits and deletes through acknowledged frames; an unacknowledged edit goes again with its clientMsgId: stored once', async () => {
    const client = await connect();
    await client.join('room');
    const message = server.post('room', 'hello');
    server.holdSends = true;
    const edited = client.edit('room', message.id, 'hello, edited');
    await eventually(() => server.frames.some((f) => f.event === 'edit'), 'the first edit');

    // The first try was stored; its ack is lost with the connection.
    const first = server.frames.find((f) => f.event === 'edit')!
      .data as ClientFrame<'edit'>['data'];
    server.change('room', 'edit', message.id, first.body, first.clientMsgId);
    server.holdSends = false;
    server.closeAll(CloseCode.GoingAway);

    const ack = await edited;
    const edits = server.frames.filter((f) => f.event === 'edit').map((f) => f.data);
    expect(edits).toEqual([
      {
        roomId: 'room',
        messageId: message.id,
        body: 'hello, edited',
        clientMsgId: first.clientMsgId,
      },
      edits[0],
    ]);
    expect(ack).toMatchObject({ seq: 2, clientMsgId: first.clientMsgId });
    await expect(client.delete('room', message.id)).resolves.toMatchObject({ seq: 3 });
    expect(server.frames.filter((f) => f.event === 'delete').map((f) => f.data)).toEqual([
      { roomId: 'room', messageId: message.id },
    ]);
    expect(server.rooms.get('room')!.map((entry) => entry.kind)).toEqual([
      'message',
      'edit',
      'delete',
    ]);
  });
});
