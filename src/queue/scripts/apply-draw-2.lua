--[[
  One slice of the drawn order put ahead of everyone else waiting, for the process holding the claim (whose lease
  it renews). Place i (0-based) of n gets score i - n: arrival sequences are positive, so the drawn come first, in
  the drawn order. A slice applied twice (a holder that died, then its successor) sets the same scores. A drawn
  user who left meanwhile is not added back (ZADD XX). The slice that completes the order marks the draw applied,
  and only then does admission start.

  KEYS[1] waiting  zset, score = arrival sequence, member = userId
  KEYS[2] stats    hash: drawState, drawHolder, drawClaimedUntil, drawPlaced

  ARGV[1] holder, ARGV[2] now (ms), ARGV[3] lease ms, ARGV[4] place of the first user of the slice (0-based),
  ARGV[5] n, the drawn users in all; ARGV[6..] the slice, in drawn order

  Returns { 1, placed } when placed, { 2 } when the draw is applied (now or before), { -1 } when this process
  no longer holds the claim
]]
local state, holder, placed = unpack(redis.call('HMGET', KEYS[2], 'drawState', 'drawHolder', 'drawPlaced'))
if state == 'applied' then return { 2 } end
if state ~= 'claimed' or holder ~= ARGV[1] then return { -1 } end
local from, n = tonumber(ARGV[4]), tonumber(ARGV[5])
-- ZADD takes many pairs at once; unpack stays well under Lua's stack limit.
local batch = {}
local function flush()
  if #batch > 0 then redis.call('ZADD', KEYS[1], 'XX', unpack(batch)) end
  batch = {}
end
for i = 6, #ARGV do
  batch[#batch + 1] = from + (i - 6) - n
  batch[#batch + 1] = ARGV[i]
  if #batch >= 2000 then flush() end
end
flush()
placed = math.max(tonumber(placed or 0), from + #ARGV - 5)
if placed >= n then
  redis.call('HSET', KEYS[2], 'drawState', 'applied', 'drawPlaced', placed)
  redis.call('HDEL', KEYS[2], 'drawHolder', 'drawClaimedUntil')
  return { 2 }
end
redis.call('HSET', KEYS[2], 'drawPlaced', placed, 'drawClaimedUntil', tonumber(ARGV[2]) + tonumber(ARGV[3]))
return { 1, placed }
