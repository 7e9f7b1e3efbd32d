/**
 * Lua run atomically inside Redis. Each script touches only keys passed in
 * KEYS, so all of it works on Redis Cluster with a hash-tagged prefix.
 */

/** Deletes KEYS[1] only while it still holds ARGV[1]: never a value someone else wrote since. Returns 1 or 0. */
export const COMPARE_AND_DELETE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Extends KEYS[1]'s expiry to ARGV[2] ms only while it still holds ARGV[1]: a lease another took since is left alone. Returns 1 or 0. */
export const COMPARE_AND_PEXPIRE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/** Removes member ARGV[1] from the sorted set KEYS[1] only while its score is still ARGV[2] (a later write stays). Returns 1 or 0. */
export const COMPARE_AND_ZREM = `if redis.call('ZSCORE', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('ZREM', KEYS[1], ARGV[1]) end return 0`;

/**
 * Entries of a stream between two ids, counted inside Redis (only the
 * number travels), at most ARGV[3]: the dashboard's throughput per minute.
 * KEYS: 1 the stream; ARGV: 1 first id, 2 last id, 3 cap
 */
export const COUNT_RANGE = `return #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', ARGV[3])`;

/**
 * One commit, as a Lua function over a part of KEYS and ARGV: its keys
 * start after `kb`, its arguments after `ab`, `nk` keys in all. COMMIT runs
 * it once over everything; COMMIT_MANY once per commit of a group.
 */
const COMMIT_ONE = `
local function commitOne(kb, ab, nk)
  local held = redis.call('HMGET', KEYS[kb + 1], 'v', 'ob')
  local current = tonumber(held[1] or '0')
  if current ~= tonumber(ARGV[ab + 1]) then return {'STALE', current} end
  if ARGV[ab + 6] ~= '' and ARGV[ab + 8] == '' then
    local existing = redis.call('GET', KEYS[kb + 4])
    if existing and existing ~= 'p:' .. ARGV[ab + 7] then return {'IDEM', existing} end
  end
  local e = tonumber(ARGV[ab + 10])
  local rAt = 11 + 3 * e
  local r = tonumber(ARGV[ab + rAt])
  local fAt = rAt + 1 + r
  local f = tonumber(ARGV[ab + fAt])
  -- The record's last outbox entry, when ob was written by the commit of the current version (else none is known).
  local last = ''
  if held[2] then
    local bar = string.find(held[2], '|', 1, true)
    if bar and string.sub(held[2], bar + 1) == held[1] then last = string.sub(held[2], 1, bar - 1) end
  end
  local entry = nil
  if ARGV[ab + 5] ~= '' then
    if e > 0 and #redis.call('XRANGE', KEYS[kb + 3], '-', last ~= '' and last or '+', 'COUNT', 1) == 0 then
      for j = 0, e - 1 do
        local k = 11 + j * 3
        redis.call('XADD', KEYS[kb + 5], 'MAXLEN', '~', ARGV[ab + 9], '*', 'id', ARGV[ab + k], 'subject', ARGV[ab + k + 1], 'event', ARGV[ab + k + 2])
      end
      for j = 1, r do
        local k = 6 + (j - 1) * 7
        if redis.call('ZREM', KEYS[kb + k], ARGV[ab + rAt + j]) == 1 then redis.call('DEL', unpack(KEYS, kb + k + 1, kb + k + 6)) end
      end
    else
      entry = redis.call('XADD', KEYS[kb + 3], '*', 't', ARGV[ab + 3], 'v', ARGV[ab + 2], 'fx', ARGV[ab + 5])
    end
  end
  if ARGV[ab + 9] ~= '' then
    redis.call('HSET', KEYS[kb + 1], 'v', ARGV[ab + 2], 'ob', (entry or last) .. '|' .. ARGV[ab + 2], unpack(ARGV, ab + fAt + 1, ab + fAt + f))
  else
    redis.call('HSET', KEYS[kb + 1], 'v', ARGV[ab + 2], unpack(ARGV, ab + fAt + 1, ab + fAt + f))
  end
  redis.call('RPUSH', KEYS[kb + 2], ARGV[ab + 4])
  local i = fAt + f
  for k = 6 + 7 * r, nk do
    local code, a, b = ARGV[ab + i + 1], ARGV[ab + i + 2], ARGV[ab + i + 3]
    if code == 'z' then redis.call('ZADD', KEYS[kb + k], b, a)
    elseif code == 'r' then redis.call('ZREM', KEYS[kb + k], a)
    elseif code == 't' then redis.call('ZREMRANGEBYRANK', KEYS[kb + k], 0, -(tonumber(a) + 1))
    elseif code == 'h' then redis.call('HINCRBY', KEYS[kb + k], a, b)
    elseif code == 'd' then redis.call('HDEL', KEYS[kb + k], a)
    elseif code == 'l' then redis.call('LSET', KEYS[kb + k], tonumber(a), b)
    elseif code == 'n' then redis.call('HSETNX', KEYS[kb + k], a, b)
    elseif code == 'x' then redis.call('XADD', KEYS[kb + k], 'MAXLEN', '~', a, '*', 't', b) end
    i = i + 3
  end
  if ARGV[ab + 6] ~= '' then
    if ARGV[ab + 8] == '' then redis.call('SET', KEYS[kb + 4], ARGV[ab + 6]) else redis.call('SET', KEYS[kb + 4], ARGV[ab + 6], 'EX', ARGV[ab + 8]) end
  end
  return {'OK'}
end
`;

/**
 * The one commit of a change to a record (a ticket, a backlog item): version
 * check, document, history entry, the change's store operations (index
 * sets, read-model counters, text index), outbox entry and the idempotency
 * record if any, all or nothing. Arguments are flat (no JSON to decode):
 * Lua's cjson would cost more than all the writes together.
 *
 * A change whose only effects are stream events and removals of delayed
 * jobs (E > 0 below; R removals) is carried out by the commit itself: its
 * events XADDed straight onto the events stream, each delayed job removed
 * while it is still delayed (ZREM from the queue's delayed set and, when
 * that removed it, one DEL of the job's keys: what BullMQ's removeJob does
 * to a delayed job without a parent, children or lock). That happens only
 * when no outbox entry at or before the record's own last one is left:
 * every entry of the record is at or before that one, so none of its events
 * or effects is still on its way, and the change cannot overtake one (the
 * relay publishes an entry's events in the same step that deletes it; a
 * timer armed or moved by an earlier entry is in its queue by then). The
 * record's last entry id is kept in its hash as `ob` = `<entry id>|<version>`,
 * rewritten by every commit (by the HSET that writes the change, so it
 * costs no command) with the version it writes; the check is one XRANGE of
 * at most one entry. Where `ob` does not name the record's current version,
 * a commit that keeps no `ob` came in between (a Lotse from before it, in a
 * rolling upgrade, may have written an entry it does not name), and where
 * it names no entry, none is known: then the check asks for an empty outbox
 * (XRANGE to `+`), the rule before `ob`. Otherwise the change goes through
 * the outbox like any other, all its effects with it (the relay runs them
 * after those before it). `ob` is kept only for a kind that publishes this
 * way (ARGV[9] set): one field a record.
 *
 * KEYS: 1 record hash, 2 history list, 3 outbox stream, 4 idempotency key
 *       (or the record hash again when there is none), 5 events stream,
 *       then 7 per removal (the queue's delayed set, then the job's six
 *       keys: hash, logs, dependencies, processed, failed, unsuccessful),
 *       then one key per store operation
 * ARGV: 1 expected version (0: must not exist), 2 new version, 3 record id,
 *       4 history entry, 5 outbox effects ('' for none), 6 idempotency record
 *       ('' for none), 7 idempotency fingerprint, 8 seconds the record
 *       lives ('' for as long as the record: a creation's record, checked
 *       here against a concurrent creation; an event's record is not checked
 *       here, since the version check already serialises changes of one
 *       record and the engine looks the key up with every load), 9 the events
 *       stream's max length, 10 number E of events to publish straight away
 *       (0 unless the effects are only these and the removals), 3E of them
 *       (event id, subject, CloudEvent JSON), then the number R of delayed
 *       jobs to remove, R job ids, then the number F of hash field/value
 *       arguments, F of them, then three per store
 *       operation (src/store/ops.ts): 'z' member score (ZADD), 'r' member ''
 *       (ZREM), 't' keep '' (keep the `keep` highest: ZREMRANGEBYRANK 0
 *       -(keep+1)), 'h' field by (HINCRBY), 'd' field '' (HDEL), 'l' index
 *       value (LSET), 'n' field value (HSETNX), 'x' maxLen value (XADD MAXLEN ~
 *       maxLen * t value)
 * Returns {'OK'} | {'STALE', currentVersion} | {'IDEM', record}
 */
export const COMMIT = `${COMMIT_ONE}
return commitOne(0, 0, #KEYS)
`;

/**
 * A group commit: several commits (of different records, or of one record
 * one after the other) in one script call, each exactly as COMMIT runs it,
 * in order, each answering for itself. A commit that raises an error (a
 * key of the wrong type) answers {'ERR', message} and the others still run;
 * as with COMMIT, what it wrote before the error stays, and its retry is
 * refused by its version or idempotency key if it got that far.
 * KEYS: every commit's KEYS (as COMMIT's), one after the other
 * ARGV: 1 the number n of commits, then per commit: its number of keys, its
 *       number of arguments, its ARGV (as COMMIT's)
 * Returns n answers, each as COMMIT's, or {'ERR', message}.
 */
export const COMMIT_MANY = `${COMMIT_ONE}
local out, kb, ab = {}, 0, 1
for c = 1, tonumber(ARGV[1]) do
  local nk, na = tonumber(ARGV[ab + 1]), tonumber(ARGV[ab + 2])
  local ok, res = pcall(commitOne, kb, ab + 2, nk)
  if ok then out[c] = res
  elseif type(res) == 'table' and res.err then out[c] = {'ERR', res.err}
  else out[c] = {'ERR', tostring(res)} end
  kb = kb + nk
  ab = ab + 2 + na
end
return out
`;

/**
 * Enters a ticket in the recurring-problem window and finds its nearest
 * neighbours there, in one call: its observation (living as long as the
 * window), and under each of its terms its id scored by its creation time,
 * the posting set kept to the `cap` newest and living as long as the window
 * after its last entry. Entries older than the window are not removed here:
 * the reads skip them by score (ZREVRANGEBYSCORE from the window's start),
 * the cap bounds a set and the expiry ends one no longer written.
 * Then, written first and read after (two observations of one problem at
 * once: the later sees the earlier), the newest `perTerm` of each term's
 * set since the window's start, and the tickets found under the most terms
 * (the ticket itself among them), at most `limit`, ties in the order first
 * seen (term by term, newest first). Counted here rather than by the caller:
 * up to `perTerm` ids per term would otherwise travel to it to give back
 * at most `limit`.
 * KEYS: 1 the observation (`rt:<id>`), 2.. one posting set per term
 * ARGV: 1 the observation (JSON), 2 the window in seconds, 3 creation time
 *       (ms), 4 ticket id, 5 cap, 6 the window's start (ms), 7 perTerm,
 *       8 limit
 * Returns the ids, most terms in common first.
 */
export const ENTER_WINDOW = `
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local trim = -(tonumber(ARGV[5]) + 1)
for k = 2, #KEYS do
  redis.call('ZADD', KEYS[k], ARGV[3], ARGV[4])
  redis.call('ZREMRANGEBYRANK', KEYS[k], 0, trim)
  redis.call('EXPIRE', KEYS[k], ARGV[2])
end
local hits, seen = {}, {}
for k = 2, #KEYS do
  for _, id in ipairs(redis.call('ZREVRANGEBYSCORE', KEYS[k], '+inf', ARGV[6], 'LIMIT', 0, ARGV[7])) do
    local n = hits[id]
    if n then hits[id] = n + 1 else hits[id] = 1; seen[#seen + 1] = id end
  end
end
-- A ticket is in a term's set once, so it has between 1 and #KEYS - 1 hits: one bucket per count, each in the order seen.
local buckets = {}
for _, id in ipairs(seen) do
  local n = hits[id]
  local b = buckets[n]
  if not b then b = {}; buckets[n] = b end
  b[#b + 1] = id
end
local nearest, limit = {}, tonumber(ARGV[8])
for n = #KEYS - 1, 1, -1 do
  for _, id in ipairs(buckets[n] or {}) do
    if #nearest >= limit then return nearest end
    nearest[#nearest + 1] = id
  end
end
return nearest
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

/**
 * Lotse before 2026-12 counted active tickets in sorted sets by Land and by
 * service (`ix:active:land:<L>`, `ix:active:service:<S>`) where it keeps the
 * `stats:active` counters now. Run once at start: when those sets exist,
 * the counters are rebuilt, not added to, from sets both versions keep
 * (`ix:active` and the Land, service and priority sets), into a new hash
 * renamed over `stats:active`, and the old sets deleted, in one script. So
 * a second process starting at the same time finds nothing left to do, and
 * a run after an old process wrote its sets again repairs the counters
 * instead of counting twice. (Stop every older process first all the same:
 * while one runs it moves no `stats:active` counter.) One pass over the
 * active tickets, a few ZSCOREs each: run on a connection without a command
 * timeout, since a script cannot be cut short once it writes.
 * KEYS: stats:active, its scratch copy, ix:active, the old Land and
 *       service sets, then the Land, service and priority sets kept;
 * ARGV: the number of Länder, of services, then the Länder, services, priorities.
 */
export const REBUILD_ACTIVE = `
local nl, ns = tonumber(ARGV[1]), tonumber(ARGV[2])
local np = #ARGV - 2 - nl - ns
local old = 3
local found = 0
for i = 1, nl + ns do found = found + redis.call('EXISTS', KEYS[old + i]) end
if found == 0 then return -1 end
local base = old + nl + ns
local function first(from, n, id)
  for i = 1, n do if redis.call('ZSCORE', KEYS[base + from + i], id) then return ARGV[2 + from + i] end end
  return nil
end
redis.call('DEL', KEYS[2])
local moved = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  local land, service, priority = first(0, nl, id), first(nl, ns, id), first(nl + ns, np, id)
  if land and service and priority then
    redis.call('HINCRBY', KEYS[2], land .. '|' .. service .. '|' .. priority, 1) -- activeField's shape
    moved = moved + 1
  end
end
if moved > 0 then redis.call('RENAME', KEYS[2], KEYS[1]) else redis.call('DEL', KEYS[1]) end
for i = 1, nl + ns do redis.call('DEL', KEYS[old + i]) end
return moved
`;

/**
 * One batch of the upgrade step backfillRefIndex (read-model.ts): adds each
 * ticket to the index set of its desk reference, as the creation's commit
 * does (ZADD with score 0, a lexical index), but only while the ticket is
 * still there, so a ticket purged between the read and this script is not
 * put back. ZADD of a member already there changes nothing: a second run,
 * or two processes at once, leave the same sets.
 * KEYS: pairs of ticket hash, index set; ARGV: the ticket ids, one per pair.
 * Returns the members added.
 */
export const BACKFILL_REF = `
local added = 0
for i = 1, #ARGV do
  if redis.call('EXISTS', KEYS[2 * i - 1]) == 1 then
    added = added + redis.call('ZADD', KEYS[2 * i], 0, ARGV[i])
  end
end
return added
`;

/**
 * Removes a delayed BullMQ job, and only while it is delayed: what BullMQ's
 * own removeJob does to such a job (its id out of the delayed set, its keys
 * deleted), without the checks a job in any other state needs (parent,
 * children, lock, scheduler, deduplication: a delayed timer has none of
 * them) and without a `removed` queue event (nobody listens for one on the
 * timers' queue). 3 commands where removeJob takes 17. A job that is not in
 * the delayed set is left alone (returns 0): the caller hands it to BullMQ.
 * KEYS: 1 the queue's delayed set, 2 the job's hash, 3.. the job's other
 *       keys (logs, dependencies, processed, failed, unsuccessful: BullMQ's
 *       removeJobKeys)
 * ARGV: 1 job id
 * Returns 1 | 0
 */
export const REMOVE_DELAYED_JOB = `
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', unpack(KEYS, 2))
return 1
`;
