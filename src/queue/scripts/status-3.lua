--[[
  Reads the state of an access key's holder and records the request (a waiter's place as lib/place.lua works it
  out, from the prefix's stats and gone keys): a waiter's poll pushes back the idle
  deadline (rewritten once per idle slack, a few polls), an admitted user's request pushes back the active idle deadline
  (rewritten once per refresh interval).

  KEYS[1] waiting  zset, score = arrival sequence, member = userId
  KEYS[2] idle     zset, score = idle deadline (ms), member = userId
  KEYS[3] active   zset, score = min(active-until, idle deadline) (ms), member = userId

  ARGV[1] key prefix (same hash tag as KEYS), ARGV[2] access key, ARGV[3] now (ms)
  ARGV[4] expected userId, or '' for any holder
  ARGV[5..9] heartbeat: msPerPosition, minPollMs, maxPollMs, idleFloorMs, idleFactor
  ARGV[10] idle slack in polls: deadlines are stored this many poll advices later, and rewritten only once passed
  ARGV[11] active idle ms, ARGV[12] active refresh ms

  Returns { userId, state (1 waiting, 2 active), position, activeUntil }
  or -1 unknown key, -2 key of another user, -3 key expired or replaced
]]
-- include: lib/key-check.lua
-- include: lib/place.lua
local prefix, accessKey, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
local badPrefix = checkPrefix(prefix)
if badPrefix then return badPrefix end

-- A route that names the user reads that user's record straight away; the key index is read only to
-- name what is wrong with a key that is not the user's current (or grace-period) one.
local owner = ARGV[4]
if owner == '' then
  owner = redis.call('GET', prefix .. 'key:' .. accessKey)
  if not owner then return -1 end
end

local userKey = prefix .. 'user:' .. owner
local refused, state, activeUntil, _, _, idleUntil, seq = checkAccessKey(prefix, owner, accessKey, now)
if refused then return refused end

idleUntil = tonumber(idleUntil) or 0
if state == 'a' then
  activeUntil = tonumber(activeUntil)
  if activeUntil <= now or idleUntil <= now then return -3 end
  local activeIdleMs = tonumber(ARGV[11])
  if idleUntil < now + activeIdleMs then
    local deadline = now + activeIdleMs + tonumber(ARGV[12])
    redis.call('HSET', userKey, 'idleUntil', deadline)
    redis.call('ZADD', KEYS[3], math.min(activeUntil, deadline), owner)
  end
  return { tonumber(owner), 2, 0, activeUntil }
end

local position = placeOf(KEYS[1], prefix .. 'gone', lineTotals(prefix .. 'stats'), owner, seq)
if not position then return -3 end
local poll = math.floor(position * tonumber(ARGV[5]) + 0.5)
poll = math.min(tonumber(ARGV[7]), math.max(tonumber(ARGV[6]), poll))
local due = now + math.max(tonumber(ARGV[8]), tonumber(ARGV[9]) * poll)
if idleUntil < due then
  local deadline = due + tonumber(ARGV[10]) * poll
  redis.call('ZADD', KEYS[2], deadline, owner)
  redis.call('HSET', userKey, 'idleUntil', deadline)
end
return { tonumber(owner), 1, position, 0 }
