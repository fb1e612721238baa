--[[
  Frees an active user's slot at once (after a payment); a waiting user keeps the place.

  KEYS[1] active   zset, score = active-until (ms), member = userId

  ARGV[1] key prefix (same hash tag as KEYS), ARGV[2] userId, ARGV[3] retired-key memory ms

  Returns 1 when the slot was freed, 0 when the user was not active
]]
-- include: lib/key-check.lua
local prefix, userId, retireMs = ARGV[1], ARGV[2], tonumber(ARGV[3])
local badPrefix = checkPrefix(prefix)
if badPrefix then return badPrefix end
local userKey = prefix .. 'user:' .. userId
local state, key, prevKey = unpack(redis.call('HMGET', userKey, 'state', 'key', 'prevKey'))
if state ~= 'a' then return 0 end
if key then redis.call('PEXPIRE', prefix .. 'key:' .. key, retireMs) end
if prevKey then redis.call('PEXPIRE', prefix .. 'key:' .. prevKey, retireMs) end
redis.call('DEL', userKey)
redis.call('ZREM', KEYS[1], userId)
return 1
