--[[
  Checks shared by the scripts that name keys from the key prefix: local functions, spliced textually in place of
  a script's `-- include: lib/key-check.lua` line when redis-store.ts loads it (Redis sees one script).

  checkPrefix(prefix)
    Keys named from the prefix stay in the declared keys' slot (the only legal undeclared keys on a cluster):
    the prefix must begin KEYS[1] and hold a hash tag. Returns nil when it does, else the error reply to return.

  checkAccessKey(prefix, userId, accessKey, now)
    Reads the user's record (prefix .. 'user:' .. userId); the access key must be its current key, or its previous
    one within the grace period. Returns false, state, activeUntil, key, prevKey, idleUntil, seq (as stored) when it is;
    else the refusal to return, named from the key index (prefix .. 'key:' .. accessKey):
    -1 unknown key, -2 key of another user, -3 key expired or replaced
]]
local function checkPrefix(prefix)
  if KEYS[1]:sub(1, #prefix) ~= prefix or not prefix:find('^[^{}]*{[^{}]+}') then
    return redis.error_reply('ERR key prefix ' .. prefix .. ' is not the declared keys\' hash tag')
  end
end

local function checkAccessKey(prefix, userId, accessKey, now)
  local state, activeUntil, key, prevKey, prevUntil, idleUntil, seq = unpack(redis.call('HMGET',
    prefix .. 'user:' .. userId, 'state', 'activeUntil', 'key', 'prevKey', 'prevUntil', 'idleUntil', 'seq'))
  local current = key == accessKey or (prevKey == accessKey and now < tonumber(prevUntil))
  if not state or not current then
    local holder = redis.call('GET', prefix .. 'key:' .. accessKey)
    if not holder then return -1 end
    if holder ~= userId then return -2 end
    return -3
  end
  return false, state, activeUntil, key, prevKey, idleUntil, seq
end
