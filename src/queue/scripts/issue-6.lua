--[[
  Enters a user in the line, or keeps the user's place (or slot) and rotates the access key
  (the previous key stays valid for the grace period). Re-issuing is activity: an admitted user's idle
  deadline is pushed back; an admission with less than the idle time left ends, and the user queues again,
  so a fresh key never inherits a lapse due seconds later.

  KEYS[1] waiting  zset, score = arrival sequence, member = userId
  KEYS[2] idle     zset, score = idle deadline (ms), member = userId
  KEYS[3] active   zset, score = min(active-until, idle deadline) (ms), member = userId
  KEYS[4] seq      arrival sequence counter
  KEYS[5] stats    hash: admittedTotal, evictedTotal, expiredTotal, lastAdmitAt, credit, ctl*, drawState
  KEYS[6] pre      set of the draw's entrants (users who joined before the opening)

  ARGV[1] key prefix (same hash tag as KEYS), ARGV[2] userId, ARGV[3] new access key, ARGV[4] now (ms)
  ARGV[5] grace ms, ARGV[6] retired-key memory ms
  ARGV[7..11] heartbeat: msPerPosition, minPollMs, maxPollMs, idleFloorMs, idleFactor
  ARGV[12] idle slack in polls: deadlines are stored this many poll advices later, and rewritten only once passed
  ARGV[13] active idle ms, ARGV[14] active refresh ms (the active idle deadline's slack)
  ARGV[15] most users waiting (0: no cap): a newcomer beyond it is refused, users already in line are not
  ARGV[16] 1 when joining before the opening: a waiter becomes an entrant, unless the draw is claimed already

  Returns { userId, state (1 waiting, 2 active), position, activeUntil }, or -4 when the line is full
]]
-- include: lib/key-check.lua
-- include: lib/place.lua
local prefix, userId, accessKey = ARGV[1], ARGV[2], ARGV[3]
local badPrefix = checkPrefix(prefix)
if badPrefix then return badPrefix end
local now, graceMs, retireMs = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local activeIdleMs, refreshMs = tonumber(ARGV[13]), tonumber(ARGV[14])
local userKey = prefix .. 'user:' .. userId

local function retire(key, ms)
  if key then redis.call('PEXPIRE', prefix .. 'key:' .. key, ms) end
end

local function idleDeadline(position)
  local poll = math.floor(position * tonumber(ARGV[7]) + 0.5)
  poll = math.min(tonumber(ARGV[9]), math.max(tonumber(ARGV[8]), poll))
  return now + math.max(tonumber(ARGV[10]), tonumber(ARGV[11]) * poll) + tonumber(ARGV[12]) * poll
end

local state, activeUntil, key, prevKey, idleUntil, seq =
  unpack(redis.call('HMGET', userKey, 'state', 'activeUntil', 'key', 'prevKey', 'idleUntil', 'seq'))

-- The next arrival sequence; the room's first marks it as keeping lib/place.lua's counts from its start.
local function nextSeq()
  local next = redis.call('INCR', KEYS[4])
  if next == 1 then redis.call('HSET', KEYS[5], 'seqTracked', 1) end
  return next
end
if state == 'a' and (tonumber(activeUntil) <= now or tonumber(idleUntil) <= now) then
  redis.call('ZREM', KEYS[3], userId)
  redis.call('DEL', userKey)
  retire(key, graceMs + retireMs)
  retire(prevKey, graceMs + retireMs)
  redis.call('HINCRBY', KEYS[5], 'expiredTotal', 1)
  state = false
end

if state == 'a' then
  if tonumber(activeUntil) - now < activeIdleMs then
    redis.call('ZREM', KEYS[3], userId)
    redis.call('HINCRBY', KEYS[5], 'expiredTotal', 1)
    seq = nextSeq()
    redis.call('ZADD', KEYS[1], seq, userId)
    redis.call('HSET', userKey, 'state', 'w', 'activeUntil', 0, 'seq', seq)
    state = 'w'
  else
    local deadline = now + activeIdleMs + refreshMs
    redis.call('HSET', userKey, 'idleUntil', deadline)
    redis.call('ZADD', KEYS[3], math.min(tonumber(activeUntil), deadline), userId)
  end
end

local maxWaiting = tonumber(ARGV[15])
if not state and maxWaiting > 0 and redis.call('ZCARD', KEYS[1]) >= maxWaiting then return -4 end

if state then
  retire(prevKey, graceMs + retireMs)
  retire(key, graceMs + retireMs)
  redis.call('HSET', userKey, 'key', accessKey, 'prevKey', key, 'prevUntil', now + graceMs)
else
  seq = nextSeq()
  redis.call('ZADD', KEYS[1], seq, userId)
  redis.call('HSET', userKey, 'state', 'w', 'key', accessKey, 'seq', seq)
  state = 'w'
end
redis.call('SET', prefix .. 'key:' .. accessKey, userId)

if state == 'a' then
  return { tonumber(userId), 2, 0, tonumber(activeUntil) }
end
if ARGV[16] == '1' and not redis.call('HGET', KEYS[5], 'drawState') then
  redis.call('SADD', KEYS[6], userId)
end
local position = placeOf(KEYS[1], prefix .. 'gone', lineTotals(KEYS[5]), userId, seq)
local deadline = idleDeadline(position)
redis.call('ZADD', KEYS[2], deadline, userId)
redis.call('HSET', userKey, 'idleUntil', deadline)
return { tonumber(userId), 1, position, 0 }
