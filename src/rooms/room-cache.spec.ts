import { Test } from '@nestjs/testing';
import { CacheModule } from '@libs/cache';
import { RoomCache } from './room-cache';

const ROOM_ID = '11111111-1111-4111-8111-111111111111';
const USER_ID = '33333333-3333-4333-8333-333333333333';

/** A promise whose settlement the test controls. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((onResolve) => (resolve = onResolve));
  return { promise, resolve };
}

/** The real cache, in-process only (no Redis): what an instance without REDIS_URL runs. */
async function createRoomCache(): Promise<RoomCache> {
  const moduleRef = await Test.createTestingModule({
    imports: [CacheModule.forRoot({ defaultTtlMs: 30_000 })],
    providers: [RoomCache],
  }).compile();
  await moduleRef.init();
  return moduleRef.get(RoomCache);
}

describe(RoomCache.name, () => {
  it('a membership read overtaken by a leave answers what the database says after the leave', async () => {
    const roomCache = await createRoomCache();
    const readBeforeLeave = deferred<boolean>();
    const load = jest.fn().mockReturnValueOnce(readBeforeLeave.promise).mockResolvedValue(false);

    const joinerAsks = roomCache.isMember(ROOM_ID, USER_ID, load);
    const otherJoinerAsks = roomCache.isMember(ROOM_ID, USER_ID, load);
    await new Promise((resolve) => setImmediate(resolve));
    // The leave commits and invalidates while the first read (which saw the member) is on its way.
    await roomCache.membershipChanged(ROOM_ID, [USER_ID]);
    readBeforeLeave.resolve(true);

    expect(await joinerAsks).toBe(false);
    expect(await otherJoinerAsks).toBe(false);
    expect(await roomCache.isMember(ROOM_ID, USER_ID, load)).toBe(false);
  });

  it('a read that nothing overtook is answered and cached as it was loaded', async () => {
    const roomCache = await createRoomCache();
    const load = jest.fn().mockResolvedValue(true);

    expect(await roomCache.isMember(ROOM_ID, USER_ID, load)).toBe(true);
    expect(await roomCache.isMember(ROOM_ID, USER_ID, load)).toBe(true);
    expect(load).toHaveBeenCalledTimes(1);
  });
});
