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
local users = {}
for i = 7, #ARGV do users[#users + 1] = ARGV[i] end
-- Lua's unpack takes a few thousand values at most: ZMSCORE and ZADD get the slice in chunks.
local CHUNK = 500
local rescored = 0
for first = 1, #users, CHUNK do
  local last = math.min(#users, first + CHUNK - 1)
  local olds = redis.call('ZMSCORE', KEYS[1], unpack(users, first, last))
  local moves, gone = {}, {}
  for i = first, last do
    local old = tonumber(olds[i - first + 1])
    if old then
      local score = from + (i - 1) - n
      moves[#moves + 1] = score
      moves[#moves + 1] = users[i]
      if old > 0 then
        gone[#gone + 1] = old
        gone[#gone + 1] = old
      end
      redis.call('HSET', prefix .. 'user:' .. users[i], 'seq', score)
    end
  end
  if #moves > 0 then redis.call('ZADD', KEYS[1], 'XX', unpack(moves)) end
  if #gone > 0 then
    redis.call('ZADD', KEYS[3], unpack(gone))
    rescored = rescored + #gone / 2
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
