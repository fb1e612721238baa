--[[
  A waiter's place in line without walking the line, spliced like key-check.lua (`-- include: lib/place.lua`).

  Arrival sequences are dense: every number the seq counter hands out becomes one waiter's score. A waiter holding
  a positive sequence s above the draw's cut has ahead of it the s - 1 numbers handed out before it, less those
  that left the line while holding one (admitted, left or evicted), plus the drawn users still waiting (negative
  scores come first), less the entrants the draw moved (all at or below the cut, so below s). Admission takes the
  front, so every admission was ahead; admissions of drawn users and the draw's moves cancel out against the drawn
  users still waiting. So:

    place = s - admittedTotal - goneDrawn - gonePruned - |gone below s|

  stats.admittedTotal  every admission
  stats.goneDrawn      drawn users who left or were evicted while holding their negative score
  gone (zset)          the positive sequences of waiters who left or were evicted (score = member = s)
  stats.gonePruned     those taken out of gone by pruneGone: below every positive sequence still waiting, so
                       below every waiter's (a newcomer's is higher still); this keeps gone to the departures
                       between the front and the back of the line
  stats.drawSeqCut     the seq counter when the draw was first claimed (claim-draw-2.lua): every entrant holds a
                       number at or below it, every later arrival one above it
  stats.seqTracked     set when the room's first sequence was handed out by code that keeps these counts

  A waiter at or below the cut (an entrant, drawn or about to be, or anyone who arrived before the claim), a room
  an earlier version began, or a record without its seq: ZRANK. Drawn users are at the front, where its walk is
  short.

  lineTotals(statsKey)                         the counts above, read once per script call
  placeOf(waitingKey, goneKey, line, userId, seq)  the 1-based place, or nil when ZRANK finds the user not waiting
  leaveLine(waitingKey, goneKey, statsKey, userId)  takes a waiter out of the line other than by admission
                                               (a leave, an eviction), counting its departure
  pruneGone(waitingKey, goneKey, statsKey, most)  moves at most `most` departures from ahead of the front to gonePruned
]]
local function lineTotals(statsKey)
  local tracked, admitted, goneDrawn, gonePruned, cut = unpack(redis.call('HMGET', statsKey,
    'seqTracked', 'admittedTotal', 'goneDrawn', 'gonePruned', 'drawSeqCut'))
  return {
    tracked = tracked == '1',
    admitted = tonumber(admitted) or 0,
    goneDrawn = tonumber(goneDrawn) or 0,
    gonePruned = tonumber(gonePruned) or 0,
    cut = tonumber(cut) or 0,
  }
end

local function placeOf(waitingKey, goneKey, line, userId, seq)
  seq = tonumber(seq)
  if line.tracked and seq and seq > line.cut then
    return seq - line.admitted - line.goneDrawn - line.gonePruned
      - redis.call('ZCOUNT', goneKey, '-inf', '(' .. seq)
  end
  local rank = redis.call('ZRANK', waitingKey, userId)
  if rank then return rank + 1 end
  return nil
end

local function leaveLine(waitingKey, goneKey, statsKey, userId)
  local score = tonumber(redis.call('ZSCORE', waitingKey, userId))
  if not score then return end
  if score > 0 then
    redis.call('ZADD', goneKey, score, score)
  else
    redis.call('HINCRBY', statsKey, 'goneDrawn', 1)
  end
  redis.call('ZREM', waitingKey, userId)
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
