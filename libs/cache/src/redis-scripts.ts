// Lua runs atomically in Redis: no invalidation can interleave with a conditional write.
// Every key a script touches is passed in KEYS (required by Redis; all under one prefix).

/**
 * Conditional write. KEYS: entry, n generation keys, n tag-set keys.
 * ARGV: serialized value, TTL in ms, the n generations read before the load.
 * Returns 1 when stored, 0 when a generation moved (the value is stale and is dropped).
 */
export const SET_IF_CURRENT_SCRIPT = `
local n = (#KEYS - 1) / 2
for i = 1, n do
  local current = redis.call('GET', KEYS[1 + i]) or '0'
  if current ~= ARGV[2 + i] then
    return 0
  end
end
local ttl = tonumber(ARGV[2])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
for i = 1, n do
  local tagSet = KEYS[1 + n + i]
  redis.call('SADD', tagSet, KEYS[1])
  if redis.call('PTTL', tagSet) < ttl then
    redis.call('PEXPIRE', tagSet, ttl)
  end
end
return 1
`;

/**
 * Tag invalidation. KEYS: n generation keys, n tag-set keys. ARGV: generation-key TTL in ms.
 * Bumps each generation, deletes every entry recorded under the tag, then the tag set.
 * Returns how many entries were deleted.
 */
export const INVALIDATE_TAGS_SCRIPT = `
local n = #KEYS / 2
local removed = 0
for i = 1, n do
  redis.call('INCR', KEYS[i])
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
  local members = redis.call('SMEMBERS', KEYS[n + i])
  for first = 1, #members, 500 do
    removed = removed + redis.call('DEL', unpack(members, first, math.min(first + 499, #members)))
  end
  redis.call('DEL', KEYS[n + i])
end
return removed
`;
