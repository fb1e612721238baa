--[[
  The common poll of several waiters at once: the polls one process received in the same turn of its event loop,
  in one call. For each, a waiter polling with its current key gets its place (from its arrival sequence and the
  line's counts, lib/place.lua: no walk of the line), and its idle deadline is pushed back only when due (as
  status-3.lua does); anything else answers 0 and the caller asks status-3.lua.

  KEYS[1] waiting  zset, score = arrival sequence, member = userId
  KEYS[2] idle     zset, score = idle deadline (ms), member = userId
  KEYS[3] stats    hash: admittedTotal, goneDrawn, gonePruned, drawSeqCut, seqTracked (and more)
  KEYS[4] gone     zset of the positive arrival sequences that left the line other than by admission
  KEYS[5..] the polling users' records (hashes), in the order of their pairs in ARGV

  ARGV[1] now (ms), ARGV[2..6] heartbeat: msPerPosition, minPollMs, maxPollMs, idleFloorMs, idleFactor
  ARGV[7] idle slack in polls; then one pair per poll: userId, access key

  Returns one position per poll, or 0: not this user's current key, or not waiting
]]
-- include: lib/place.lua
local now, msPerPosition, minPoll, maxPoll = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local idleFloor, idleFactor, slack = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local line = lineTotals(KEYS[3])
local positions = {}
for i = 5, #KEYS do
  local userId, accessKey = ARGV[2 * i - 2], ARGV[2 * i - 1]
  local position = 0
  local state, key, idleUntil, seq = unpack(redis.call('HMGET', KEYS[i], 'state', 'key', 'idleUntil', 'seq'))
  if state == 'w' and key == accessKey then
    local place = placeOf(KEYS[1], KEYS[4], line, userId, seq)
    if place then
      position = place
      local poll = math.min(maxPoll, math.max(minPoll, math.floor(position * msPerPosition + 0.5)))
      local due = now + math.max(idleFloor, idleFactor * poll)
      if (tonumber(idleUntil) or 0) < due then
        redis.call('ZADD', KEYS[2], due + slack * poll, userId)
        redis.call('HSET', KEYS[i], 'idleUntil', due + slack * poll)
      end
    end
  end
  positions[#positions + 1] = position
end
return positions
