--[[
  One admission step, safe for any number of processes: expires lapsed and idle actives, evicts idle waiters,
  then admits the front of the line within the shared rate budget and the active-user window (the shared
  control's window and rate when governed and written, never beyond the cap).

  KEYS[1] waiting  zset, score = arrival sequence, member = userId
  KEYS[2] idle     zset, score = idle deadline (ms), member = userId
  KEYS[3] active   zset, score = min(active-until, idle deadline) (ms), member = userId
  KEYS[4] stats    hash: admittedTotal, evictedTotal, expiredTotal, lastAdmitAt, credit, ctlWindow, ctlRate
  (an evicted waiter's arrival sequence goes to the prefix's gone zset; departures from ahead of the front leave it:
  lib/place.lua)

  ARGV[1] key prefix (same hash tag as KEYS), ARGV[2] now (ms), ARGV[3] admissions per second
  ARGV[4] max active, ARGV[5] max burst ms, ARGV[6] active TTL ms, ARGV[7] retired-key memory ms
  ARGV[8] most users expired, evicted or admitted in one call (bounds the script's run time)
  ARGV[9] 1 when governed by the shared control, ARGV[10] active idle ms, ARGV[11] active refresh ms

  Returns { admitted, evicted, expired, waiting, active, admittedTotal, window, rate } (rate as a string)
]]
-- include: lib/key-check.lua
-- include: lib/place.lua
local prefix, now, rate = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local badPrefix = checkPrefix(prefix)
if badPrefix then return badPrefix end
local maxActive, maxBurstMs, ttlMs = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local retireMs, batch = tonumber(ARGV[7]), tonumber(ARGV[8])
local idleMs = tonumber(ARGV[10]) + tonumber(ARGV[11])
local window = maxActive
if ARGV[9] == '1' then
  local ctlWindow, ctlRate = unpack(redis.call('HMGET', KEYS[4], 'ctlWindow', 'ctlRate'))
  if ctlWindow then window = math.min(maxActive, tonumber(ctlWindow)) end
  if ctlRate then rate = tonumber(ctlRate) end
end

local function forget(userId)
  local userKey = prefix .. 'user:' .. userId
  local key, prevKey = unpack(redis.call('HMGET', userKey, 'key', 'prevKey'))
  if key then redis.call('PEXPIRE', prefix .. 'key:' .. key, retireMs) end
  if prevKey then redis.call('PEXPIRE', prefix .. 'key:' .. prevKey, retireMs) end
  redis.call('DEL', userKey)
end

local lapsed = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, batch)
for _, userId in ipairs(lapsed) do
  forget(userId)
  redis.call('ZREM', KEYS[3], userId)
end

local idle = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, batch)
for _, userId in ipairs(idle) do
  forget(userId)
  leaveLine(KEYS[1], prefix .. 'gone', KEYS[4], userId)
  redis.call('ZREM', KEYS[2], userId)
end

local lastAdmitAt, credit = unpack(redis.call('HMGET', KEYS[4], 'lastAdmitAt', 'credit'))
lastAdmitAt = tonumber(lastAdmitAt)
credit = tonumber(credit) or 0
local elapsed = 0
if lastAdmitAt then elapsed = math.min(maxBurstMs, math.max(0, now - lastAdmitAt)) end
if not lastAdmitAt or now > lastAdmitAt then redis.call('HSET', KEYS[4], 'lastAdmitAt', now) end
credit = credit + rate * elapsed / 1000
local budget = math.floor(credit)
redis.call('HSET', KEYS[4], 'credit', tostring(credit - budget))

local room = window - redis.call('ZCARD', KEYS[3])
local take = math.min(budget, room, batch)
local admitted = 0
if take > 0 then
  local front = redis.call('ZRANGE', KEYS[1], 0, take - 1)
  admitted = #front
  if admitted > 0 then
    redis.call('ZREMRANGEBYRANK', KEYS[1], 0, admitted - 1)
    local activeUntil = now + ttlMs
    local idleUntil = now + idleMs
    for _, userId in ipairs(front) do
      redis.call('ZREM', KEYS[2], userId)
      redis.call('HSET', prefix .. 'user:' .. userId, 'state', 'a', 'activeUntil', activeUntil, 'idleUntil', idleUntil)
      redis.call('ZADD', KEYS[3], math.min(activeUntil, idleUntil), userId)
    end
  end
end

pruneGone(KEYS[1], prefix .. 'gone', KEYS[4], batch)
local admittedTotal = redis.call('HINCRBY', KEYS[4], 'admittedTotal', admitted)
redis.call('HINCRBY', KEYS[4], 'evictedTotal', #idle)
redis.call('HINCRBY', KEYS[4], 'expiredTotal', #lapsed)
return {
  admitted, #idle, #lapsed, redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[3]), admittedTotal,
  window, tostring(rate),
}
