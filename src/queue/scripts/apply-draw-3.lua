--[[
  One slice of the drawn order put ahead of everyone else waiting, for the process holding the claim (whose lease
  it renews). Place i (0-based) of n gets score i - n: arrival sequences are positive, so the drawn come first, in
  the drawn order. A slice applied twice (a holder that died, then its successor) sets the same scores. A drawn
  user who left meanwhile is not added back. The slice that completes the order marks the draw applied, and only
  then does admission start. A drawn user's record keeps its new score as its seq, and the positive sequence it
  gave up goes to the gone zset (lib/place.lua's counts).

  KEYS[1] waiting  zset, score = arrival sequence, member = userId
  KEYS[2] stats    hash: drawState, drawHolder, drawClaimedUntil, drawPlaced, drawRescored
  KEYS[3] gone     zset of the positive arrival sequences that left the line other than by admission

  ARGV[1] key prefix (same hash tag as KEYS), ARGV[2] holder, ARGV[3] now (ms), ARGV[4] lease ms,
  ARGV[5] place of the first user of the slice (0-based), ARGV[6] n, the drawn users in all;
  ARGV[7..] the slice, in drawn order

  Returns { 1, placed } when placed, { 2 } when the draw is applied (now or before), { -1 } when this process
  no longer holds the claim
]]
-- include: lib/key-check.lua
local prefix = ARGV[1]
local badPrefix = checkPrefix(prefix)
if badPrefix then return badPrefix end
local state, holder, placed = unpack(redis.call('HMGET', KEYS[2], 'drawState', 'drawHolder', 'drawPlaced'))
if state == 'applied' then return { 2 } end
if state ~= 'claimed' or holder ~= ARGV[2] then return { -1 } end
local from, n = tonumber(ARGV[5]), tonumber(ARGV[6])
local rescored = 0
for i = 7, #ARGV do
  local userId = ARGV[i]
  local old = tonumber(redis.call('ZSCORE', KEYS[1], userId))
  if old then
    local score = from + (i - 7) - n
    if old > 0 then
      redis.call('ZADD', KEYS[3], old, old)
      rescored = rescored + 1
    end
    redis.call('ZADD', KEYS[1], score, userId)
    redis.call('HSET', prefix .. 'user:' .. userId, 'seq', score)
  end
end
if rescored > 0 then redis.call('HINCRBY', KEYS[2], 'drawRescored', rescored) end
placed = math.max(tonumber(placed or 0), from + #ARGV - 6)
if placed >= n then
  redis.call('HSET', KEYS[2], 'drawState', 'applied', 'drawPlaced', placed)
  redis.call('HDEL', KEYS[2], 'drawHolder', 'drawClaimedUntil')
  return { 2 }
end
redis.call('HSET', KEYS[2], 'drawPlaced', placed, 'drawClaimedUntil', tonumber(ARGV[3]) + tonumber(ARGV[4]))
return { 1, placed }
