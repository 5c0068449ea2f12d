import { RequestValidationError } from './request-validation.error';
import { canonicalizePathIds, IsId, ParseIdPipe } from './canonical-id';
import { createValidationPipe } from './validation.pipe';

const ID = '3f2b8c1e-9d4a-4e6b-8f10-7a5c2d9e0b11';

class WithIdDto {
  @IsId()
  roomId: string;
}

describe('canonical ids', () => {
  describe(ParseIdPipe.name, () => {
    const parse = (value: string) =>
      new ParseIdPipe().transform(value, { type: 'param', data: 'id' });

    it('hands on an id typed in upper or mixed case in lower case', async () => {
      expect(await parse(ID.toUpperCase())).toBe(ID);
      expect(await parse(`${ID.slice(0, 9).toUpperCase()}${ID.slice(9)}`)).toBe(ID);
      expect(await parse(ID)).toBe(ID);
    });

    it('refuses what is not a UUID', async () => {
      await expect(parse('not-an-id')).rejects.toThrow('uuid is expected');
    });
  });

  describe(IsId.name, () => {
    const validate = (value: unknown) =>
      createValidationPipe().transform(value, { type: 'body', metatype: WithIdDto });

    it('hands on the field in lower case', async () => {
      expect(await validate({ roomId: ID.toUpperCase() })).toEqual({ roomId: ID });
    });

    it.each([['not-an-id'], [42], [null]])('refuses %p', async (roomId) => {
      await expect(validate({ roomId })).rejects.toBeInstanceOf(RequestValidationError);
    });
  });

  describe(canonicalizePathIds.name, () => {
    it('lower-cases the ids among path parameters and leaves other values alone', () => {
      const params: Record<string, unknown> = { id: ID.toUpperCase(), name: 'Alice', other: ID };

      canonicalizePathIds(params);

      expect(params).toEqual({ id: ID, name: 'Alice', other: ID });
    });
  });
});
