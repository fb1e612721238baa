--[[
  A waiter's poll, the common case in one round trip: the user's record holds this very key and says waiting
  (so the user has not left, been evicted, admitted or given a newer key), then the rank; the idle deadline is
  pushed back only when due (about one poll in slack + 1). Anything else returns 0 and the caller runs the
  status script, which answers for an admitted user or a grace-period key and names what is wrong otherwise.

  KEYS[1] waiting  zset, score = arrival sequence, member = userId
  KEYS[2] idle     zset, score = idle deadline (ms), member = userId
  KEYS[3] the user's record (hash): state, key, idleUntil...

  ARGV[1] userId, ARGV[2] access key, ARGV[3] now (ms)
  ARGV[4..8] heartbeat: msPerPosition, minPollMs, maxPollMs, idleFloorMs, idleFactor
  ARGV[9] idle slack in polls: deadlines are stored this many poll advices later, and rewritten only once passed

  Returns the 1-based position, or 0: not this user's current key, or not waiting
]]
local state, key, idleUntil = unpack(redis.call('HMGET', KEYS[3], 'state', 'key', 'idleUntil'))
if state ~= 'w' or key ~= ARGV[2] then return 0 end
local rank = redis.call('ZRANK', KEYS[1], ARGV[1])
if not rank then return 0 end
local position = rank + 1
local poll = math.floor(position * tonumber(ARGV[4]) + 0.5)
poll = math.min(tonumber(ARGV[6]), math.max(tonumber(ARGV[5]), poll))
local due = tonumber(ARGV[3]) + math.max(tonumber(ARGV[7]), tonumber(ARGV[8]) * poll)
if (tonumber(idleUntil) or 0) < due then
  local deadline = due + tonumber(ARGV[9]) * poll
  redis.call('ZADD', KEYS[2], deadline, ARGV[1])
  redis.call('HSET', KEYS[3], 'idleUntil', deadline)
end
return position
