import { Parser } from '@asyncapi/parser';
import type { ArgumentMetadata, Type } from '@nestjs/common';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { CLIENT_FRAME_SCHEMAS, ClientEvent, SERVER_EVENT_SCHEMAS } from '@libs/protocol';
import { createValidationPipe } from '@app/common/validation/validation.pipe';
import {
  AuthFrameDto,
  DirectMessageFrameDto,
  PingFrameDto,
  RoomFrameDto,
  SendFrameDto,
  SyncFrameDto,
} from '@app/realtime/realtime.dto';
import { createAsyncApiDocument, messageKey } from './asyncapi-document';

const ID = '0b9c2a57-3f0e-4c57-9a6e-6c1f0e7f3a10';
const UPPER_CASE_ID = ID.toUpperCase();

// Spectral's severities: 0 error, 1 warning, 2 information, 3 hint.
const WARNING = 1;

describe('createAsyncApiDocument', () => {
  const document = createAsyncApiDocument();

  it('is a valid AsyncAPI 3.0 document by @asyncapi/parser, with no warning', async () => {
    const { document: parsed, diagnostics } = await new Parser().parse(JSON.stringify(document));

    expect(diagnostics.filter((diagnostic) => Number(diagnostic.severity) <= WARNING)).toEqual([]);
    expect(parsed?.version()).toBe('3.0.0');
    expect(parsed?.channels().get('ws')?.address()).toBe('/ws');
    const actions = parsed
      ?.operations()
      .all()
      .map((operation) => operation.action());
    expect(actions?.filter((action) => action === 'receive')).toHaveLength(
      Object.keys(CLIENT_FRAME_SCHEMAS).length,
    );
    expect(actions?.filter((action) => action === 'send')).toHaveLength(
      Object.keys(SERVER_EVENT_SCHEMAS).length,
    );
  });

  it('answers each request in its reply, beside error', () => {
    expect(document.operations.receiveJoin.reply?.messages).toEqual([
      { $ref: '#/channels/ws/messages/server-joined' },
      { $ref: '#/channels/ws/messages/server-error' },
    ]);
    expect(document.operations.receiveTyping.reply).toBeUndefined();
  });

  describe('client frames accept and refuse what the server does', () => {
    const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
    addFormats(ajv);
    const pipe = createValidationPipe();
    const dtos: Partial<Record<ClientEvent, Type>> = {
      join: RoomFrameDto,
      send: SendFrameDto,
      dm: DirectMessageFrameDto,
      sync: SyncFrameDto,
      auth: AuthFrameDto,
      ping: PingFrameDto,
    };

    async function serverAccepts(event: ClientEvent, data: unknown): Promise<boolean> {
      const metadata: ArgumentMetadata = { type: 'body', metatype: dtos[event] };
      return pipe.transform(data, metadata).then(
        () => true,
        () => false,
      );
    }

    function documentAccepts(event: ClientEvent, data: unknown): boolean {
      const payload = document.components.messages[messageKey('client', event)].payload;
      return ajv.validate(payload, { event, data });
    }

    it.each<[ClientEvent, string, unknown, boolean]>([
      ['join', 'a lower-case id', { roomId: ID }, true],
      ['join', 'an upper-case id', { roomId: UPPER_CASE_ID }, true],
      ['join', 'the nil UUID', { roomId: '00000000-0000-0000-0000-000000000000' }, true],
      ['join', 'a UUID of version 0', { roomId: '0b9c2a57-3f0e-0c57-9a6e-6c1f0e7f3a10' }, false],
      ['join', 'no UUID', { roomId: 'not-an-id' }, false],
      ['join', 'no roomId', {}, false],
      ['join', 'an unknown field', { roomId: ID, extra: 1 }, false],
      ['send', 'a body of 1 character', { roomId: ID, body: 'x' }, true],
      [
        'send',
        '4000 characters and a clientMsgId of 64',
        { roomId: ID, body: 'x'.repeat(4000), clientMsgId: 'k'.repeat(64) },
        true,
      ],
      ['send', 'an empty body', { roomId: ID, body: '' }, false],
      ['send', 'a body of 4001 characters', { roomId: ID, body: 'x'.repeat(4001) }, false],
      ['send', 'an empty clientMsgId', { roomId: ID, body: 'x', clientMsgId: '' }, false],
      [
        'send',
        'a clientMsgId of 65 characters',
        { roomId: ID, body: 'x', clientMsgId: 'k'.repeat(65) },
        false,
      ],
      ['send', 'a body that is a number', { roomId: ID, body: 7 }, false],
      ['dm', 'a body', { userId: ID, body: 'hi' }, true],
      ['dm', 'no body', { userId: ID }, false],
      ['sync', 'afterSeq 0', { roomId: ID, afterSeq: 0 }, true],
      ['sync', 'limit 200', { roomId: ID, afterSeq: 5, limit: 200 }, true],
      ['sync', 'afterSeq -1', { roomId: ID, afterSeq: -1 }, false],
      ['sync', 'afterSeq 1.5', { roomId: ID, afterSeq: 1.5 }, false],
      ['sync', 'limit 0', { roomId: ID, afterSeq: 0, limit: 0 }, false],
      ['sync', 'limit 201', { roomId: ID, afterSeq: 0, limit: 201 }, false],
      ['auth', 'a token of 1 character', { token: 't' }, true],
      ['auth', 'a token of 4096 characters', { token: 't'.repeat(4096) }, true],
      ['auth', 'an empty token', { token: '' }, false],
      ['auth', 'a token of 4097 characters', { token: 't'.repeat(4097) }, false],
      ['ping', '{}', {}, true],
      ['ping', 'a field', { padding: 'x' }, false],
    ])('%s with %s', async (event, _case, data, accepted) => {
      expect(documentAccepts(event, data)).toBe(accepted);
      expect(await serverAccepts(event, data)).toBe(accepted);
    });
  });
});
