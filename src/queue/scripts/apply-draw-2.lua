--[[
  Puts the drawn users ahead of everyone else waiting, in the drawn order, once. Arrival sequences are
  positive, so the drawn get scores -n .. -1; a drawn user who left meanwhile is not added back (ZADD XX).

  KEYS[1] waiting  zset, score = arrival sequence, member = userId
  KEYS[2] stats    hash: drawState

  ARGV[1..n] the drawn order, first in line first

  Returns 1 when applied, 0 when the draw was applied already
]]
if redis.call('HGET', KEYS[2], 'drawState') == 'applied' then return 0 end
local n = #ARGV
for i, userId in ipairs(ARGV) do
  redis.call('ZADD', KEYS[1], 'XX', i - n - 1, userId)
end
redis.call('HSET', KEYS[2], 'drawState', 'applied')
return 1
