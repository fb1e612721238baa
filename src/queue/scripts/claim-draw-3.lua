--[[
  Claims a sale's draw for one process for a lease: from then on nobody new becomes an entrant (issue-6 stops
  adding to the pre set once drawState exists). A claim whose lease ran out may be taken over.

  KEYS[1] stats    hash: drawState ('claimed' | 'applied'), drawClaimedUntil
  KEYS[2] pre      set of entrants
  KEYS[3] waiting  zset, score = arrival sequence, member = userId

  ARGV[1] now (ms), ARGV[2] lease ms

  Returns { 1, entrant... } (the entrants still waiting) when claimed, { 0 } when another process holds the
  claim, { 2 } when the draw was applied already
]]
local now = tonumber(ARGV[1])
local state, claimedUntil = unpack(redis.call('HMGET', KEYS[1], 'drawState', 'drawClaimedUntil'))
if state == 'applied' then return { 2 } end
if state == 'claimed' and tonumber(claimedUntil) > now then return { 0 } end
redis.call('HSET', KEYS[1], 'drawState', 'claimed', 'drawClaimedUntil', now + tonumber(ARGV[2]))
local out = { 1 }
for _, userId in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('ZSCORE', KEYS[3], userId) then out[#out + 1] = tonumber(userId) end
end
return out
