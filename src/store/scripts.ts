/**
 * Lua run atomically inside Redis. Each script touches only keys passed in
 * KEYS, so all of it works on Redis Cluster with a hash-tagged prefix.
 */

/**
 * The one commit of a ticket change: version check, snapshot, history entry,
 * index and counter updates, outbox entry and (on creation) the idempotency
 * record, all or nothing.
 *
 * KEYS: 1 ticket hash, 2 history list, 3 outbox stream, 4 idempotency key
 *       (or the ticket hash again when there is none), 5 counters hash,
 *       6.. index sorted sets
 * ARGV: 1 expected version (0: must not exist), 2 new version, 3 ticket id,
 *       4 hash field/value pairs as JSON, 5 history entry, 6 outbox effects
 *       ('' for none), 7 idempotency record ('' for none), 8 idempotency
 *       fingerprint, 9 counter increments as JSON, 10.. per index key: 'a'
 *       (add to a lexical index), 'r' (remove) or a number (add with it as score)
 * Returns {'OK'} | {'STALE', currentVersion} | {'IDEM', record}
 */
export const COMMIT = `
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then return {'STALE', current} end
if ARGV[7] ~= '' then
  local existing = redis.call('GET', KEYS[4])
  if existing then
    local rec = cjson.decode(existing)
    if rec.state ~= 'pending' or rec.fp ~= ARGV[8] then return {'IDEM', existing} end
  end
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], unpack(cjson.decode(ARGV[4])))
redis.call('RPUSH', KEYS[2], ARGV[5])
if ARGV[6] ~= '' then
  redis.call('XADD', KEYS[3], '*', 't', ARGV[3], 'v', ARGV[2], 'fx', ARGV[6])
end
for field, by in pairs(cjson.decode(ARGV[9])) do
  redis.call('HINCRBY', KEYS[5], field, by)
end
for i = 6, #KEYS do
  local op = ARGV[i + 4]
  if op == 'a' then redis.call('ZADD', KEYS[i], 0, ARGV[3])
  elseif op == 'r' then redis.call('ZREM', KEYS[i], ARGV[3])
  else redis.call('ZADD', KEYS[i], tonumber(op), ARGV[3]) end
end
if ARGV[7] ~= '' then redis.call('SET', KEYS[4], ARGV[7]) end
return {'OK'}
`;

/**
 * The relay's last step for one outbox entry: publish its stream events and
 * remove the entry, atomically and only once. When the entry is already gone
 * (another relay finished it), nothing is published again.
 *
 * KEYS: 1 outbox stream, 2 events stream
 * ARGV: 1 outbox entry id, 2 consumer group, 3 events max length,
 *       4.. CloudEvent JSON per event to publish (with its id and subject first)
 * Returns the number of events published.
 */
export const FINISH_OUTBOX = `
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return -1 end
local n = 0
for i = 4, #ARGV, 3 do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'id', ARGV[i], 'subject', ARGV[i + 1], 'event', ARGV[i + 2])
  n = n + 1
end
redis.call('XACK', KEYS[1], ARGV[2], ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
return n
`;

/**
 * One page of ticket ids, newest first. Index sets hold ticket ids at score
 * 0; ids begin with their creation time, so lexical order is creation
 * order. The smallest of the given sets is scanned, the others are checked
 * for membership. At most ARGV[3] members are scanned, so a sparse filter
 * cannot block Redis; the cursor lets the caller go on.
 *
 * KEYS: the index sets a ticket must all be in (at least one)
 * ARGV: 1 cursor: the last id seen ('' for the newest), 2 page size, 3 scan budget
 * Returns {nextCursor ('' at the end), ids...}
 */
export const LIST_PAGE = `
local base, smallest = 1, nil
for k = 1, #KEYS do
  local n = redis.call('ZCARD', KEYS[k])
  if smallest == nil or n < smallest then base, smallest = k, n end
end
local max = ARGV[1] == '' and '+' or ('(' .. ARGV[1])
local limit, budget = tonumber(ARGV[2]), tonumber(ARGV[3])
local out, scanned, last = {}, 0, nil
while #out < limit and scanned < budget do
  local batch = redis.call('ZRANGE', KEYS[base], max, '-', 'BYLEX', 'REV', 'LIMIT', 0, math.min(200, budget - scanned))
  if #batch == 0 then return {'', unpack(out)} end
  for _, id in ipairs(batch) do
    scanned = scanned + 1
    last = id
    local ok = true
    for k = 1, #KEYS do
      if k ~= base and not redis.call('ZSCORE', KEYS[k], id) then ok = false break end
    end
    if ok then
      out[#out + 1] = id
      if #out >= limit then break end
    end
  end
  max = '(' .. last
end
return {last, unpack(out)}
`;
