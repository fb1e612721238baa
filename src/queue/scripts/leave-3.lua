--[[
  The holder of an access key leaves the line or the active set at once (DELETE /api/users/:userId/token).

  KEYS[1] waiting  zset, score = arrival sequence, member = userId
  KEYS[2] idle     zset, score = idle deadline (ms), member = userId
  KEYS[3] active   zset, score = min(active-until, idle deadline) (ms), member = userId

  ARGV[1] key prefix (same hash tag as KEYS), ARGV[2] userId, ARGV[3] access key, ARGV[4] now (ms)
  ARGV[5] retired-key memory ms

  Returns 1 when the user was waiting, 2 when active;
  or -1 unknown key, -2 key of another user, -3 key expired or replaced
]]
-- include: lib/key-check.lua
-- include: lib/place.lua
local prefix, userId, accessKey = ARGV[1], ARGV[2], ARGV[3]
local badPrefix = checkPrefix(prefix)
if badPrefix then return badPrefix end
local now, retireMs = tonumber(ARGV[4]), tonumber(ARGV[5])
local userKey = prefix .. 'user:' .. userId
local refused, state, activeUntil, key, prevKey, idleUntil = checkAccessKey(prefix, userId, accessKey, now)
if refused then return refused end
if state == 'a' and (tonumber(activeUntil) <= now or tonumber(idleUntil) <= now) then return -3 end

if key then redis.call('PEXPIRE', prefix .. 'key:' .. key, retireMs) end
if prevKey then redis.call('PEXPIRE', prefix .. 'key:' .. prevKey, retireMs) end
redis.call('DEL', userKey)
if state == 'a' then
  redis.call('ZREM', KEYS[3], userId)
  return 2
end
leaveLine(KEYS[1], prefix .. 'gone', prefix .. 'stats', userId)
redis.call('ZREM', KEYS[2], userId)
return 1
