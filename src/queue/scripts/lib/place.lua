--[[
  A waiter's place in line without walking the line, spliced like key-check.lua (`-- include: lib/place.lua`).

  Arrival sequences are dense: every number the seq counter hands out becomes one waiter's score. A waiter holding
  a positive sequence s has ahead of it the s - 1 numbers handed out before it, less those that left the line
  while holding one (admitted, left, evicted, or moved to a negative score by the draw), plus the drawn users still
  waiting (negative scores come first). Admission takes the front, so every admission since s was handed out (and
  every one before) was ahead; admissions of drawn users cancel out against the drawn users still waiting. So:

    place = s - admittedTotal + drawRescored - goneDrawn - gonePruned - |gone below s|

  stats.admittedTotal  every admission;  stats.drawRescored  users the draw moved to a negative score
  stats.goneDrawn      drawn users who left or were evicted while holding their negative score
  gone (zset)          the positive sequences of users who left, were evicted or were drawn (score = member = s)
  stats.gonePruned     those taken out of gone by pruneGone: below every positive sequence still waiting, so
                       below every waiter's (a newcomer's is higher still); this keeps gone to the departures
                       between the front and the back of the line
  stats.seqTracked     set when the room's first sequence was handed out by code that keeps these counts: a room
                       an earlier version began (or a user record without its seq) falls back to ZRANK, as does a
                       drawn user (a negative score: the front of the line, where ZRANK's walk is short).

  lineTotals(statsKey)                         the counts above, read once per script call
  placeOf(waitingKey, goneKey, line, userId, seq)  the 1-based place, or nil when ZRANK finds the user not waiting
  recordGone(goneKey, statsKey, seq)           a waiter that held `seq` left the line other than by admission
  pruneGone(waitingKey, goneKey, statsKey, most)  moves at most `most` departures from ahead of the front to gonePruned
]]
local function lineTotals(statsKey)
  local tracked, admitted, rescored, goneDrawn, gonePruned = unpack(redis.call('HMGET', statsKey,
    'seqTracked', 'admittedTotal', 'drawRescored', 'goneDrawn', 'gonePruned'))
  return {
    tracked = tracked == '1',
    admitted = tonumber(admitted) or 0,
    rescored = tonumber(rescored) or 0,
    goneDrawn = tonumber(goneDrawn) or 0,
    gonePruned = tonumber(gonePruned) or 0,
  }
end

local function placeOf(waitingKey, goneKey, line, userId, seq)
  seq = tonumber(seq)
  if line.tracked and seq and seq > 0 then
    return seq - line.admitted + line.rescored - line.goneDrawn - line.gonePruned
      - redis.call('ZCOUNT', goneKey, '-inf', '(' .. seq)
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

local function pruneGone(waitingKey, goneKey, statsKey, most)
  local front = redis.call('ZRANGEBYSCORE', waitingKey, '(0', '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  local below = '+inf'
  if front[2] then below = '(' .. front[2] end
  local n = math.min(most, redis.call('ZCOUNT', goneKey, '-inf', below))
  if n > 0 then
    redis.call('ZREMRANGEBYRANK', goneKey, 0, n - 1)
    redis.call('HINCRBY', statsKey, 'gonePruned', n)
  end
end
