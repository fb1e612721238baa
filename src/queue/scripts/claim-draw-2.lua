--[[
  Claims a sale's draw for one process for a lease: from then on nobody new becomes an entrant (issue-6 stops
  adding to the pre set once drawState exists). A claim whose lease ran out may be taken over, and the new holder
  goes on from the places the earlier one applied (the order is recorded in the database, so it is the same).

  KEYS[1] stats    hash: drawState ('claimed' | 'applied'), drawHolder, drawClaimedUntil, drawPlaced, drawSeqCut
  KEYS[2] seq      arrival sequence counter: the first claim keeps its value as drawSeqCut (every entrant arrived
                   at or below it, everyone after above it: lib/place.lua)

  ARGV[1] holder (a process's claim id), ARGV[2] now (ms), ARGV[3] lease ms

  Returns { 1, placed } when claimed, { 0 } when another process holds the claim, { 2 } when the draw was
  applied already
]]
local now = tonumber(ARGV[2])
local state, holder, claimedUntil, placed =
  unpack(redis.call('HMGET', KEYS[1], 'drawState', 'drawHolder', 'drawClaimedUntil', 'drawPlaced'))
if state == 'applied' then return { 2 } end
if state == 'claimed' and tonumber(claimedUntil) > now and holder ~= ARGV[1] then return { 0 } end
if not state then redis.call('HSET', KEYS[1], 'drawSeqCut', tonumber(redis.call('GET', KEYS[2]) or 0)) end
redis.call('HSET', KEYS[1], 'drawState', 'claimed', 'drawHolder', ARGV[1], 'drawClaimedUntil', now + tonumber(ARGV[3]))
return { 1, tonumber(placed or 0) }
