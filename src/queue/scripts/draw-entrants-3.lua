--[[
  One slice of the draw's entrants still waiting, for the process holding the claim (whose lease it renews). The
  pre set no longer grows once the draw is claimed, so a full SSCAN returns every entrant (maybe twice: the draw
  counts each once).

  KEYS[1] stats    hash: drawState, drawHolder, drawClaimedUntil
  KEYS[2] pre      set of entrants
  KEYS[3] waiting  zset, score = arrival sequence, member = userId

  ARGV[1] holder, ARGV[2] now (ms), ARGV[3] lease ms, ARGV[4] SSCAN cursor ('0' first), ARGV[5] SSCAN count

  Returns { next cursor ('0' when done), entrant... }, or { -1 } when this process no longer holds the claim
]]
local state, holder = unpack(redis.call('HMGET', KEYS[1], 'drawState', 'drawHolder'))
if state ~= 'claimed' or holder ~= ARGV[1] then return { -1 } end
redis.call('HSET', KEYS[1], 'drawClaimedUntil', tonumber(ARGV[2]) + tonumber(ARGV[3]))
local scan = redis.call('SSCAN', KEYS[2], ARGV[4], 'COUNT', tonumber(ARGV[5]))
local out = { scan[1] }
for _, userId in ipairs(scan[2]) do
  if redis.call('ZSCORE', KEYS[3], userId) then out[#out + 1] = tonumber(userId) end
end
return out
