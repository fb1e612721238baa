--[[
  A waiter's place in line without walking the line, spliced like key-check.lua (`-- include: lib/place.lua`).

  Arrival sequences are dense: every number the seq counter hands out becomes one waiter's score. A waiter holding
  a positive sequence s has ahead of it the s - 1 numbers handed out before it, less those that left the line
  while holding one (admitted, left, evicted, or moved to a negative score by the draw), plus the drawn users still
  waiting (negative scores come first). Admission takes the front, so every admission since s was handed out (and
  every one before) was ahead; admissions of drawn users cancel out against the drawn users still waiting. So:

    place = s - admittedTotal + drawRescored - goneDrawn - |gone below s|

  stats.admittedTotal  every admission;  stats.drawRescored  users the draw moved to a negative score
  stats.goneDrawn      drawn users who left or were evicted while holding their negative score
  gone (zset)          the positive sequences of users who left, were evicted or were drawn (score = member = s)
  stats.seqTracked     set when the room's first sequence was handed out by code that keeps these counts: a room
                       an earlier version began (or a user record without its seq) falls back to ZRANK, as does a
                       drawn user (a negative score: the front of the line, where ZRANK's walk is short).

  lineTotals(statsKey)                         the counts above, read once per script call
  placeOf(waitingKey, goneKey, line, userId, seq)  the 1-based place, or nil when ZRANK finds the user not waiting
  recordGone(goneKey, statsKey, seq)           a waiter that held `seq` left the line other than by admission
]]
local function lineTotals(statsKey)
  local tracked, admitted, rescored, goneDrawn =
    unpack(redis.call('HMGET', statsKey, 'seqTracked', 'admittedTotal', 'drawRescored', 'goneDrawn'))
  return {
    tracked = tracked == '1',
    admitted = tonumber(admitted) or 0,
    rescored = tonumber(rescored) or 0,
    goneDrawn = tonumber(goneDrawn) or 0,
  }
end

local function placeOf(waitingKey, goneKey, line, userId, seq)
  seq = tonumber(seq)
  if line.tracked and seq and seq > 0 then
    return seq - line.admitted + line.rescored - line.goneDrawn - redis.call('ZCOUNT', goneKey, '-inf', '(' .. seq)
  end
  local rank = redis.call('ZRANK', waitingKey, userId)
  if rank then return rank + 1 end
  return nil
end

local function recordGone(goneKey, statsKey, seq)
  seq = tonumber(seq)
  if not seq then return end
  if seq > 0 then
    redis.call('ZADD', goneKey, seq, seq)
  else
    redis.call('HINCRBY', statsKey, 'goneDrawn', 1)
  end
end
