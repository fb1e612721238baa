--[[
  Compare-and-set of the admission control every process shares: the active-user window and the rate.
  Written only if the stored version is still the one the caller decided from.

  KEYS[1] stats    hash: ctlWindow, ctlRate, ctlVersion, ctlChangedAt, ctlCutAt (and the admission totals)

  ARGV[1] expected version (0: never written), ARGV[2] window, ARGV[3] rate, ARGV[4] now (ms)
  ARGV[5] 1 when the step is a cut (stamps ctlCutAt)

  Returns { applied (1/0), window, rate, version, changedAt, cutAt } as strings (the rate may be fractional)
]]
local function read()
  return redis.call('HMGET', KEYS[1], 'ctlWindow', 'ctlRate', 'ctlVersion', 'ctlChangedAt', 'ctlCutAt')
end
local stored = read()
local version = tonumber(stored[3]) or 0
if version ~= tonumber(ARGV[1]) then
  return { '0', stored[1] or '0', stored[2] or '0', tostring(version), stored[4] or '0', stored[5] or '0' }
end
redis.call('HSET', KEYS[1], 'ctlWindow', ARGV[2], 'ctlRate', ARGV[3], 'ctlVersion', version + 1,
  'ctlChangedAt', ARGV[4])
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'ctlCutAt', ARGV[4]) end
stored = read()
return { '1', stored[1], stored[2], stored[3], stored[4], stored[5] or '0' }
