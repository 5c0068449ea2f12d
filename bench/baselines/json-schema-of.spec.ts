import Fastify from 'fastify';
import { jsonSchemaOf } from './json-schema-of';

describe('jsonSchemaOf', () => {
  const sample = {
    items: [
      { id: 'a', seq: 1, clientMsgId: null, ok: true },
      { id: 'b', seq: 2, clientMsgId: null, ok: false },
    ],
    nextCursor: null,
    ratio: 0.5,
  };

  it('lets a Fastify response schema serialize the sample to the same bytes', async () => {
    const app = Fastify();
    app.get('/', { schema: { response: { 200: jsonSchemaOf(sample) } } }, () => sample);
    const response = await app.inject({ method: 'GET', url: '/' });
    expect(response.body).toBe(JSON.stringify(sample));
    await app.close();
  });

  it('leaves the items open when they differ in shape', () => {
    expect(jsonSchemaOf([{ a: 1 }, { a: 'x' }])).toEqual({ type: 'array', items: {} });
  });
});
