import { Controller, Get, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { OpenAPIObject } from '@nestjs/swagger';
import { compileResponsesFromDocument, serializeLikeTheRoute } from './compiled-responses';

@Controller()
class ProfilesController {
  @Get('profiles/:id')
  getProfile(): object {
    return { id: 'p-1', name: 'Ada', secret: 'not in the document', age: '36' };
  }

  @Get('undocumented')
  getUndocumented(): object {
    return { kept: true, extra: 1 };
  }
}

@Module({ controllers: [ProfilesController] })
class ProfilesModule {}

const DOCUMENT = {
  openapi: '3.0.0',
  info: { title: 'profiles', version: '1' },
  paths: {
    '/profiles/{id}': {
      get: {
        operationId: 'getProfile',
        responses: {
          '200': {
            description: '',
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/Profile' } },
            },
          },
        },
      },
    },
  },
  components: {
    schemas: {
      Profile: {
        type: 'object',
        properties: { id: { type: 'string' }, name: { type: 'string' }, age: { type: 'integer' } },
        required: ['id', 'name'],
        additionalProperties: false,
      },
    },
  },
} as unknown as OpenAPIObject;

async function appWith(
  compiled: boolean,
  beforeInit: (app: NestFastifyApplication) => void = () => undefined,
): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(
    ProfilesModule,
    new FastifyAdapter(),
    {
      logger: false,
    },
  );
  if (compiled) {
    compileResponsesFromDocument(app, DOCUMENT);
  }
  beforeInit(app);
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

describe(compileResponsesFromDocument.name, () => {
  it("serializes a documented route's answer by its response schema: undeclared fields never leave", async () => {
    const app = await appWith(true);
    try {
      const answer = await app.inject({ method: 'GET', url: '/profiles/p-1' });
      expect(answer.statusCode).toBe(200);
      expect(answer.body).toBe('{"id":"p-1","name":"Ada","age":36}');
      // A route the document does not describe answers as before.
      const other = await app.inject({ method: 'GET', url: '/undocumented' });
      expect(JSON.parse(other.body)).toEqual({ kept: true, extra: 1 });
    } finally {
      await app.close();
    }
  });

  it('keeps what an object the document leaves open carries, as JSON Schema allows', async () => {
    const open = structuredClone(DOCUMENT) as OpenAPIObject & {
      components: { schemas: { Profile: { additionalProperties?: boolean } } };
    };
    delete open.components.schemas.Profile.additionalProperties;
    const app = await NestFactory.create<NestFastifyApplication>(
      ProfilesModule,
      new FastifyAdapter(),
      {
        logger: false,
      },
    );
    compileResponsesFromDocument(app, open);
    await app.init();
    try {
      const answer = await app.inject({ method: 'GET', url: '/profiles/p-1' });
      expect(JSON.parse(answer.body)).toEqual({
        id: 'p-1',
        name: 'Ada',
        secret: 'not in the document',
        age: 36,
      });
    } finally {
      await app.close();
    }
  });

  it('without it, the same route sends whatever the handler returned (positive control)', async () => {
    const app = await appWith(false);
    try {
      const answer = await app.inject({ method: 'GET', url: '/profiles/p-1' });
      expect(JSON.parse(answer.body)).toHaveProperty('secret');
    } finally {
      await app.close();
    }
  });

  it('hands the response cache the bytes the route sends', async () => {
    let stored: string | undefined;
    const app = await appWith(true, (created) =>
      created
        .getHttpAdapter()
        .getInstance()
        .addHook('preSerialization', async (_request, reply, payload) => {
          stored = serializeLikeTheRoute(payload, reply);
          return payload;
        }),
    );
    try {
      const answer = await app.inject({ method: 'GET', url: '/profiles/p-1' });
      expect(stored).toBe(answer.body);
    } finally {
      await app.close();
    }
  });
});
