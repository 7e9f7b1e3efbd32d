/**
 * Lua run atomically inside Redis. Each script touches only keys passed in
 * KEYS, so all of it works on Redis Cluster with a hash-tagged prefix.
 */

/** Deletes KEYS[1] only while it still holds ARGV[1]: never a value someone else wrote since. Returns 1 or 0. */
export const COMPARE_AND_DELETE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * The one commit of a change to a record (a ticket, a backlog item): version
 * check, document, history entry, the change's store operations (index
 * sets, read-model counters, text index), outbox entry and the idempotency
 * record if any, all or nothing. Arguments are flat (no JSON to decode):
 * Lua's cjson would cost more than all the writes together.
 *
 * KEYS: 1 record hash, 2 history list, 3 outbox stream, 4 idempotency key
 *       (or the record hash again when there is none), 5.. one key per
 *       store operation
 * ARGV: 1 expected version (0: must not exist), 2 new version, 3 record id,
 *       4 history entry, 5 outbox effects ('' for none), 6 idempotency record
 *       ('' for none), 7 idempotency fingerprint, 8 seconds the record
 *       lives ('' for as long as the record: a creation's record, checked
 *       here against a concurrent creation; an event's record is not checked
 *       here, since the version check already serialises changes of one
 *       record and the engine looks the key up with every load), 9 number F
 *       of hash field/value arguments, F of them, then three per store
 *       operation (src/store/ops.ts): 'z' member score (ZADD), 'r' member ''
 *       (ZREM), 't' keep '' (keep the `keep` highest: ZREMRANGEBYRANK 0
 *       -(keep+1)), 'h' field by (HINCRBY), 'd' field '' (HDEL), 'l' index
 *       value (LSET)
 * Returns {'OK'} | {'STALE', currentVersion} | {'IDEM', record}
 */
export const COMMIT = `
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then return {'STALE', current} end
if ARGV[6] ~= '' and ARGV[8] == '' then
  local existing = redis.call('GET', KEYS[4])
  if existing and existing ~= 'p:' .. ARGV[7] then return {'IDEM', existing} end
end
local f = tonumber(ARGV[9])
redis.call('HSET', KEYS[1], 'v', ARGV[2], unpack(ARGV, 10, 9 + f))
redis.call('RPUSH', KEYS[2], ARGV[4])
if ARGV[5] ~= '' then
  redis.call('XADD', KEYS[3], '*', 't', ARGV[3], 'v', ARGV[2], 'fx', ARGV[5])
end
local i = 9 + f
for k = 5, #KEYS do
  local code, a, b = ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  if code == 'z' then redis.call('ZADD', KEYS[k], b, a)
  elseif code == 'r' then redis.call('ZREM', KEYS[k], a)
  elseif code == 't' then redis.call('ZREMRANGEBYRANK', KEYS[k], 0, -(tonumber(a) + 1))
  elseif code == 'h' then redis.call('HINCRBY', KEYS[k], a, b)
  elseif code == 'd' then redis.call('HDEL', KEYS[k], a)
  elseif code == 'l' then redis.call('LSET', KEYS[k], tonumber(a), b) end
  i = i + 3
end
if ARGV[6] ~= '' then
  if ARGV[8] == '' then redis.call('SET', KEYS[4], ARGV[6]) else redis.call('SET', KEYS[4], ARGV[6], 'EX', ARGV[8]) end
end
return {'OK'}
`;

/**
 * The relay's last step for a batch of outbox entries: publish their stream
 * events and remove the entries, atomically and only once. An entry that is
 * already gone (another relay finished it) publishes nothing again.
 *
 * KEYS: 1 outbox stream, 2 events stream
 * ARGV: 1 consumer group, 2 events max length, then per entry: its id, the
 *       number n of events, and n triples (event id, subject, CloudEvent JSON)
 * Returns the number of events published.
 */
export const FINISH_OUTBOX = `
local published, i, done = 0, 3, {}
while i <= #ARGV do
  local entry, n = ARGV[i], tonumber(ARGV[i + 1])
  -- XDEL says whether the entry was still there: only then publish its events.
  if redis.call('XDEL', KEYS[1], entry) == 1 then
    done[#done + 1] = entry
    for j = 0, n - 1 do
      local k = i + 2 + j * 3
      redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'id', ARGV[k], 'subject', ARGV[k + 1], 'event', ARGV[k + 2])
      published = published + 1
    end
  end
  i = i + 2 + n * 3
end
if #done > 0 then redis.call('XACK', KEYS[1], ARGV[1], unpack(done)) end
return published
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
