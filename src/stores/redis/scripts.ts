/**
 * The Lua scripts of the Redis store: each step that must be atomic runs as one script.
 * Times are integer milliseconds (exact in Lua's doubles).
 */

/** KEYS: session. ARGV: lastSeenAt, idleExpiresAt. Updates a live session only. */
export const TOUCH = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'lastSeenAt', ARGV[1], 'idleExpiresAt', ARGV[2])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1`;

/** KEYS: session. ARGV: field, value. Sets a field of an existing hash. */
export const SET_IF_EXISTS = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

/**
 * KEYS: none. ARGV: prefix, sessionId. Deletes a session with its refresh tokens and its
 * place in the user's set; returns the session's fields, or nil when it was gone.
 */
const END_SESSION = `
local function endSession(prefix, id)
  local key = prefix .. 's:' .. id
  local fields = redis.call('HGETALL', key)
  if #fields == 0 then return nil end
  local userId
  for i = 1, #fields, 2 do if fields[i] == 'userId' then userId = fields[i + 1] end end
  redis.call('DEL', key)
  if userId then redis.call('SREM', prefix .. 'us:' .. userId, id) end
  local tokens = prefix .. 'srt:' .. id
  for _, rt in ipairs(redis.call('SMEMBERS', tokens)) do redis.call('DEL', prefix .. 'rt:' .. rt) end
  redis.call('DEL', tokens)
  return fields
end
`;

export const DELETE_SESSION = `${END_SESSION}
return endSession(ARGV[1], ARGV[2])`;

/** ARGV: prefix, userId, exceptId. Ends every session of a user but one; returns the ids. */
export const DELETE_USER_SESSIONS = `${END_SESSION}
local ended = {}
for _, id in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'us:' .. ARGV[2])) do
  if id ~= ARGV[3] then
    if endSession(ARGV[1], id) then table.insert(ended, id) end
    redis.call('SREM', ARGV[1] .. 'us:' .. ARGV[2], id)
  end
end
return ended`;

/** KEYS: token. ARGV: now. Of two concurrent calls, exactly one sees 1. */
export const MARK_ROTATED = `
local rotated = redis.call('HGET', KEYS[1], 'rotatedAt')
if rotated == false or rotated ~= '' then return 0 end
redis.call('HSET', KEYS[1], 'rotatedAt', ARGV[1])
return 1`;

/** ARGV: prefix, sessionId, now. Marks every current token of a session rotated. */
export const RETIRE_SESSION_TOKENS = `
for _, rt in ipairs(redis.call('SMEMBERS', ARGV[1] .. 'srt:' .. ARGV[2])) do
  local key = ARGV[1] .. 'rt:' .. rt
  if redis.call('HGET', key, 'rotatedAt') == '' then redis.call('HSET', key, 'rotatedAt', ARGV[3]) end
end
return 1`;

/**
 * KEYS: counter. ARGV: now, windowMs. A fixed window kept as "count:resetAt", so the
 * window follows the caller's clock; the key's own TTL removes it when the window ends.
 */
export const HIT = `
local now = tonumber(ARGV[1])
local count, reset = 0, 0
local value = redis.call('GET', KEYS[1])
if value then
  local sep = string.find(value, ':')
  count = tonumber(string.sub(value, 1, sep - 1))
  reset = tonumber(string.sub(value, sep + 1))
end
if not value or reset <= now then
  count = 1
  reset = now + tonumber(ARGV[2])
else
  count = count + 1
end
redis.call('SET', KEYS[1], count .. ':' .. reset, 'PX', math.max(1, reset - now))
return {count, reset}`;

/** KEYS: seq counter, feed. ARGV: kind, subject, at, channel. Appends with the next seq. */
export const PUBLISH = `
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, seq .. '|' .. ARGV[1] .. '|' .. ARGV[3] .. '|' .. ARGV[2])
redis.call('PUBLISH', ARGV[4], seq)
return seq`;
