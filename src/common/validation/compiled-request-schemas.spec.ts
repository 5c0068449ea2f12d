import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArgumentMetadata, Body, Type } from '@nestjs/common';
import { IsString, Length, MaxLength, MinLength } from 'class-validator';
import type { OpenAPIObject } from '@nestjs/swagger';
import { AuthController } from '@app/auth/auth.controller';
import { LoginRequestDto, RegisterRequestDto } from '@app/auth/auth.dto';
import { PageQueryDto } from '@app/common/pagination/page-query.dto';
import { MessagesController } from '@app/messages/messages.controller';
import { ListRoomMessagesQueryDto, PostMessageRequestDto } from '@app/messages/messages.dto';
import { RoomsController } from '@app/rooms/rooms.controller';
import { AddRoomMemberRequestDto, CreateRoomRequestDto } from '@app/rooms/rooms.dto';
import { RoomFrameDto, SendFrameDto, SyncFrameDto } from '@app/realtime/realtime.dto';
import { WsParamtype } from '@nestjs/websockets/enums/ws-paramtype.enum';
import type { RouteHandler } from '@app/bootstrap/route-handlers';
import { CompiledLocation, CompiledRequestSchemas } from './compiled-request-schemas';
import { createValidationPipe } from './validation.pipe';

class OpenEndedDto {
  @IsString()
  @Length(1)
  note: string;

  @MinLength(2)
  @MaxLength(4)
  code: string;
}

/** The committed document, which CI checks against the code. */
const DOCUMENT = JSON.parse(
  readFileSync(join(__dirname, '../../../openapi.json'), 'utf8'),
) as OpenAPIObject;

const CONTROLLERS: Type[] = [AuthController, MessagesController, RoomsController];

function handlersOf(controllers: Type[]): RouteHandler[] {
  return controllers.flatMap((controller) =>
    Object.getOwnPropertyNames(controller.prototype as object)
      .filter((name) => name !== 'constructor')
      .map((name) => ({ controller, name })),
  );
}

function compiledSchemas(): CompiledRequestSchemas {
  const schemas = new CompiledRequestSchemas();
  schemas.compile(DOCUMENT, handlersOf(CONTROLLERS));
  return schemas;
}

/** What a pipe made of the value: the DTO it handed on, or the 400's fields and messages. */
async function outcome(
  pipe: ReturnType<typeof createValidationPipe>,
  metatype: Type,
  type: CompiledLocation,
  value: unknown,
): Promise<unknown> {
  try {
    const dto = (await pipe.transform(value, { type, metatype })) as object;
    return { accepted: dto, isDto: dto instanceof metatype };
  } catch (error) {
    return { refused: (error as { details?: unknown }).details, status: 400 };
  }
}

/** A small deterministic generator, so that a failure can be run again as it was. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

const QUERY_VALUES = [
  '',
  ' ',
  '0',
  '1',
  '7',
  ' 7 ',
  '50',
  '200',
  '201',
  '-1',
  '-0',
  '1.5',
  '1e2',
  '0x10',
  'abc',
  'NaN',
  'Infinity',
  '9007199254740991',
  '9007199254740992',
  ['1', '2'],
  'x'.repeat(512),
  'x'.repeat(513),
  '😀'.repeat(512),
  '😀'.repeat(513),
  '❤️',
  '\uFE0F',
  'é',
];
const BODY_VALUES = [
  '',
  'hi',
  'x'.repeat(4000),
  'x'.repeat(4001),
  '😀'.repeat(4000),
  '😀'.repeat(4001),
  '❤️'.repeat(2000),
  '❤️'.repeat(4001),
  '\uFE0F',
  'k'.repeat(64),
  'k'.repeat(65),
  5,
  0,
  true,
  null,
  ['a'],
  {},
  ' ',
];

const ID_VALUES = [
  '3f2b8c1e-9d4a-4e6b-8f10-7a5c2d9e0b11',
  '3F2B8C1E-9D4A-4E6B-8F10-7A5C2D9E0B11',
  '0190a5c2-7d3e-7b21-9c4d-1e2f3a4b5c6d',
  '00000000-0000-0000-0000-000000000000',
  'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF',
  '3f2b8c1e-9d4a-0e6b-8f10-7a5c2d9e0b11',
  '3f2b8c1e-9d4a-9e6b-8f10-7a5c2d9e0b11',
  '3f2b8c1e-9d4a-4e6b-cf10-7a5c2d9e0b11',
  '3f2b8c1e9d4a4e6b8f107a5c2d9e0b11',
  'urn:uuid:3f2b8c1e-9d4a-4e6b-8f10-7a5c2d9e0b11',
  '{3f2b8c1e-9d4a-4e6b-8f10-7a5c2d9e0b11}',
  '3f2b8c1e-9d4a-4e6b-8f10-7a5c2d9e0b1g',
  ' 3f2b8c1e-9d4a-4e6b-8f10-7a5c2d9e0b11',
];
const NUMBER_VALUES = [
  0,
  1,
  5,
  -1,
  1.5,
  200,
  201,
  '5',
  '',
  null,
  true,
  2 ** 53,
  Number.MAX_SAFE_INTEGER,
];

function fuzzed(
  names: string[],
  values: unknown[],
  count: number,
  seed: number,
): Record<string, unknown>[] {
  const next = random(seed);
  const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)];
  return Array.from({ length: count }, () => {
    const value: Record<string, unknown> = {};
    for (const name of [...names, 'unknown']) {
      // Most fields present, the unknown one rarely.
      if (next() < (name === 'unknown' ? 0.1 : 0.8)) {
        value[name] = pick(values);
      }
    }
    return value;
  });
}

describe(CompiledRequestSchemas.name, () => {
  const schemas = compiledSchemas();
  const compiledPipe = createValidationPipe(schemas);
  const referencePipe = createValidationPipe();

  it('compiles from the document the DTOs it states exactly, others from their class, and leaves the rest', () => {
    expect(schemas.compiledFrom(ListRoomMessagesQueryDto, 'query')).toBe('document');
    expect(schemas.compiledFrom(PageQueryDto, 'query')).toBe('document');
    expect(schemas.compiledFrom(PostMessageRequestDto, 'body')).toBe('document');
    expect(schemas.compiledFrom(LoginRequestDto, 'body')).toBe('document');
    // The document says `format: uuid`, looser than @IsUUID(): the class's rules are compiled.
    expect(schemas.compiledFrom(AddRoomMemberRequestDto, 'body')).toBe('class');
    // WebSocket frames have no OpenAPI operation.
    expect(schemas.compiledFrom(SendFrameDto, 'body')).toBe('class');
    expect(schemas.compiledFrom(SyncFrameDto, 'body')).toBe('class');
    // @Length(1) and @MinLength/@MaxLength: only the bounds that are set.
    expect(schemas.compiledFrom(OpenEndedDto, 'body')).toBe('class');
    expect(schemas.accept(OpenEndedDto, 'body', { note: 'x'.repeat(5000), code: 'abcd' })).toEqual({
      note: 'x'.repeat(5000),
      code: 'abcd',
    });
    expect(schemas.accept(OpenEndedDto, 'body', { note: '', code: 'abcd' })).toBeUndefined();
    // A pattern or a trim (@Transform) is said by class-validator alone.
    expect(schemas.compiledFrom(RegisterRequestDto, 'body')).toBeUndefined();
    expect(schemas.compiledFrom(CreateRoomRequestDto, 'body')).toBeUndefined();
  });

  it('does not compile from a document that says something else than the rules', () => {
    const document = structuredClone(DOCUMENT) as OpenAPIObject & {
      components: { schemas: Record<string, { properties: Record<string, object> }> };
    };
    document.components.schemas.PostMessageRequestDto.properties.body = {
      type: 'string',
      minLength: 1,
      maxLength: 5000,
    };
    const drifted = new CompiledRequestSchemas();
    drifted.compile(document, handlersOf([MessagesController]));
    // Its own rules still are: the drift costs speed, never a wrong answer.
    expect(drifted.compiledFrom(PostMessageRequestDto, 'body')).toBe('class');
    expect(drifted.compiledFrom(ListRoomMessagesQueryDto, 'query')).toBe('document');
  });

  const cases: [string, Type, CompiledLocation, string[], unknown[]][] = [
    [
      'a history query',
      ListRoomMessagesQueryDto,
      'query',
      ['limit', 'after', 'before', 'cursor'],
      QUERY_VALUES,
    ],
    ['a page query', PageQueryDto, 'query', ['limit', 'cursor'], QUERY_VALUES],
    ['a message', PostMessageRequestDto, 'body', ['body', 'clientMsgId'], BODY_VALUES],
    ['a login', LoginRequestDto, 'body', ['username', 'password'], BODY_VALUES],
    ['open-ended lengths', OpenEndedDto, 'body', ['note', 'code'], BODY_VALUES],
    ['a member to add', AddRoomMemberRequestDto, 'body', ['userId'], ID_VALUES],
    [
      'a send frame',
      SendFrameDto,
      'body',
      ['roomId', 'body', 'clientMsgId'],
      [...ID_VALUES, ...BODY_VALUES],
    ],
    [
      'a sync frame',
      SyncFrameDto,
      'body',
      ['roomId', 'afterSeq', 'limit'],
      [...ID_VALUES, ...NUMBER_VALUES],
    ],
  ];

  it.each(cases)(
    'answers %s exactly as class-validator does, and takes the compiled path for what it accepts',
    async (_what, metatype, type, names, values) => {
      const inputs: unknown[] = [
        {},
        undefined,
        null,
        [],
        'text',
        ...names.flatMap((name) => values.map((value) => ({ [name]: value }))),
        ...fuzzed(names, values, 1000, names.length),
      ];
      let compiledAccepted = 0;
      let refused = 0;
      for (const input of inputs) {
        const expected = await outcome(referencePipe, metatype, type, structuredClone(input));
        expect({
          input,
          outcome: await outcome(compiledPipe, metatype, type, structuredClone(input)),
        }).toEqual({
          input,
          outcome: expected,
        });
        if (schemas.accept(metatype, type, structuredClone(input))) {
          compiledAccepted += 1;
        }
        if ('refused' in (expected as object)) {
          refused += 1;
        }
      }
      // Both kinds were tried: requests the compiled schema answered, and 400s.
      expect(compiledAccepted).toBeGreaterThan(3);
      expect(refused).toBeGreaterThan(10);
    },
  );

  it('sends a string with a variation selector to class-validator, which counts it otherwise', async () => {
    class NameDto {
      @IsString()
      @Length(3, 10)
      name: string;
    }
    class NamesController {
      rename(@Body() _request: NameDto): void {}
    }
    const document = {
      openapi: '3.0.0',
      info: { title: 't', version: '1' },
      paths: {
        '/names': {
          post: {
            operationId: 'rename',
            responses: {},
            requestBody: {
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    properties: { name: { type: 'string', minLength: 3, maxLength: 10 } },
                    required: ['name'],
                    additionalProperties: false,
                  },
                },
              },
            },
          },
        },
      },
    } as unknown as OpenAPIObject;
    const names = new CompiledRequestSchemas();
    names.compile(document, [{ controller: NamesController, name: 'rename' }]);
    const pipe = createValidationPipe(names);
    // Three code points, two characters to class-validator: a 400.
    await expect(
      pipe.transform({ name: 'a\uFE0F\uFE0F' }, { type: 'body', metatype: NameDto }),
    ).rejects.toThrow(
      'name must be longer than or equal to 3 and shorter than or equal to 10 characters',
    );
    expect(names.accept(NameDto, 'body', { name: 'abc' })).toEqual({ name: 'abc' });
    expect(names.compiledFrom(NameDto, 'body')).toBe('document');
  });

  it("checks a WebSocket frame's @MessageBody() by its compiled schema, ids in canonical form", async () => {
    const frames = new CompiledRequestSchemas();
    const accept = jest.spyOn(frames, 'accept');
    const pipe = createValidationPipe(frames);
    const payload = {
      type: WsParamtype.PAYLOAD,
      metatype: RoomFrameDto,
    } as unknown as ArgumentMetadata;
    const roomId = '3F2B8C1E-9D4A-4E6B-8F10-7A5C2D9E0B11';

    expect(await pipe.transform({ roomId }, payload)).toEqual({ roomId: roomId.toLowerCase() });
    expect(accept).toHaveLastReturnedWith({ roomId: roomId.toLowerCase() });
    await expect(pipe.transform({ roomId: 'nope' }, payload)).rejects.toThrow(
      'roomId must be a UUID',
    );
  });

  it('leaves the value it was given as it was', () => {
    const query = { limit: '7' };
    expect(schemas.accept(ListRoomMessagesQueryDto, 'query', query)).toEqual({ limit: 7 });
    expect(query).toEqual({ limit: '7' });
  });
});
