/**
 * The Lua scripts of the Redis store: each step that must be atomic runs as one script.
 * Times are integer milliseconds (exact in Lua's doubles).
 *
 * Some scripts touch keys they build from their arguments (a session's refresh tokens, a
 * user's index) besides the ones they declare. Redis allows that for keys in the slot of
 * the declared ones, and every key of a deployment is in one slot on a Cluster (the
 * prefix is a hash tag): each script declares at least one key, which routes it there.
 */

/*
 * A session is one string key, `s2:<id>`, holding a MessagePack array (see
 * `packSession` in session-codec.ts; Lua indexes from 1):
 *   1 userId (compact), 2 secretHash, 3 kind code, 4 remember, 5 createdAt,
 *   6 lastSeenAt - createdAt, 7 expiresAt - createdAt, 8 idleTimeoutMs,
 *   9 idleExpiresAt - lastSeenAt, 10 ip, 11 userAgent, 12 username, 13 userCreatedAt,
 *   14 roles (an array of names), 15 rolesAt, 16 previousSecretHash ('' for none),
 *   17 secretRotatedAt - createdAt, 18 authTime - createdAt, 19 amr (an array of names)
 * (14 to 19 came later: a value written before roles has none of them, and reads as
 * `["user"]`; one written before renewal has no 16 and 17, and reads as never renewed,
 * its secret set at login; one written before re-authentication has no 18 and 19, and
 * reads as signed in with a password at login.) A script that writes a later field fills the ones before it
 * (`FILL`): cmsgpack packs a table with a hole as a map, which no reader expects.
 * It expires at the session's idle expiry. A user's session ids are the fields of the
 * hash `u2:<compact userId>` (a compact listpack for up to 128 sessions).
 *
 * The `2` is the layout's version: a layout change takes new key names, so a value of an
 * earlier layout is never misread (its sessions end; they expire by themselves).
 */
export const SESSION_KEY = "s2:";
export const USER_INDEX_KEY = "u2:";
/** A disabled user's marker, `ud:<compact user id>` = disabledAt, kept until enabled. */
export const DISABLED_KEY = "ud:";
/**
 * The sessions a disable ended, `ue:<compact user id>` (a set of ids), until the core's
 * `deleteByUser` that follows the disable takes them, to count them and say why they
 * ended; cleared with the disabled marker, an hour at most.
 */
export const DISABLE_ENDED_KEY = "ue:";

/** KEYS: session. ARGV: lastSeenAt, idleExpiresAt. Updates a live session only. */
export const TOUCH = `
local packed = redis.call('GET', KEYS[1])
if not packed then return 0 end
local s = cmsgpack.unpack(packed)
local lastSeenAt, idleExpiresAt = tonumber(ARGV[1]), tonumber(ARGV[2])
s[6] = lastSeenAt - s[5]
s[9] = idleExpiresAt - lastSeenAt
redis.call('SET', KEYS[1], cmsgpack.pack(s), 'PXAT', ARGV[2])
return 1`;

/**
 * Fills the fields a value of an earlier layout lacks before the ones a script writes
 * (16 and 17, or 18 and 19), as it reads them: roles `["user"]` at 0, never renewed.
 */
const FILL = `
local function fill(s)
  if s[14] == nil then s[14] = {'user'} end
  if s[15] == nil then s[15] = 0 end
  if s[16] == nil then s[16] = '' end
  if s[17] == nil then s[17] = 0 end
end
`;

/**
 * KEYS: session. ARGV: secretHash, at. Gives an existing session a new secret hash,
 * renewed at `at`, and forgets the previous one.
 */
export const REPLACE_SECRET = `${FILL}
local packed = redis.call('GET', KEYS[1])
if not packed then return 0 end
local s = cmsgpack.unpack(packed)
fill(s)
s[2] = ARGV[1]
s[16] = ''
s[17] = tonumber(ARGV[2]) - s[5]
redis.call('SET', KEYS[1], cmsgpack.pack(s), 'KEEPTTL')
return 1`;

/**
 * KEYS: session. ARGV: expectedHash, secretHash, at, lastSeenAt, idleExpiresAt. Only while
 * the secret hash is `expectedHash`: it becomes the previous one, `secretHash` the secret,
 * renewed at `at`, and the use is recorded as `TOUCH` records it (the key then expires at
 * the new idle expiry). 1 when it did, 0 when the secret had changed or the session is gone;
 * of concurrent calls with one `expectedHash`, exactly one sees 1.
 */
export const RENEW_SECRET = `${FILL}
local packed = redis.call('GET', KEYS[1])
if not packed then return 0 end
local s = cmsgpack.unpack(packed)
if s[2] ~= ARGV[1] then return 0 end
fill(s)
local lastSeenAt, idleExpiresAt = tonumber(ARGV[4]), tonumber(ARGV[5])
s[2] = ARGV[2]
s[16] = ARGV[1]
s[17] = tonumber(ARGV[3]) - s[5]
s[6] = lastSeenAt - s[5]
s[9] = idleExpiresAt - lastSeenAt
redis.call('SET', KEYS[1], cmsgpack.pack(s), 'PXAT', ARGV[5])
return 1`;

/**
 * KEYS: session. ARGV: authTime, then the amr names. Records a re-authentication on an
 * existing session, keeping its expiry. 1 when it did, 0 when the session is gone.
 */
export const REAUTHENTICATE = `${FILL}
local packed = redis.call('GET', KEYS[1])
if not packed then return 0 end
local s = cmsgpack.unpack(packed)
fill(s)
local amr = {}
for i = 2, #ARGV do amr[#amr + 1] = ARGV[i] end
s[18] = tonumber(ARGV[1]) - s[5]
s[19] = amr
redis.call('SET', KEYS[1], cmsgpack.pack(s), 'KEEPTTL')
return 1`;

/**
 * KEYS: none. ARGV: prefix, sessionId. Deletes a session with its refresh tokens and its
 * place in the user's index; returns the packed session, or nil when it was gone.
 */
const END_SESSION = `
local function endSession(prefix, id)
  local key = prefix .. '${SESSION_KEY}' .. id
  local packed = redis.call('GET', key)
  if not packed then return nil end
  redis.call('DEL', key)
  redis.call('HDEL', prefix .. '${USER_INDEX_KEY}' .. cmsgpack.unpack(packed)[1], id)
  local tokens = prefix .. 'srt:' .. id
  for _, rt in ipairs(redis.call('SMEMBERS', tokens)) do redis.call('DEL', prefix .. 'rt:' .. rt) end
  redis.call('DEL', tokens)
  return packed
end
`;

export const DELETE_SESSION = `${END_SESSION}
return endSession(ARGV[1], ARGV[2])`;

/**
 * ARGV: prefix, compact userId, exceptId. Ends every session of a user but one; returns
 * the ids. Ending them all (no exceptId) of a disabled user also returns those the
 * disable ended and nobody has taken yet (`${DISABLE_ENDED_KEY}`): the core's call that
 * follows a disable, or a retry of it.
 */
export const DELETE_USER_SESSIONS = `${END_SESSION}
local ended = {}
for _, id in ipairs(redis.call('HKEYS', ARGV[1] .. '${USER_INDEX_KEY}' .. ARGV[2])) do
  if id ~= ARGV[3] then
    if endSession(ARGV[1], id) then table.insert(ended, id) end
    redis.call('HDEL', ARGV[1] .. '${USER_INDEX_KEY}' .. ARGV[2], id)
  end
end
if ARGV[3] == '' and redis.call('EXISTS', ARGV[1] .. '${DISABLED_KEY}' .. ARGV[2]) == 1 then
  local untold = ARGV[1] .. '${DISABLE_ENDED_KEY}' .. ARGV[2]
  for _, id in ipairs(redis.call('SMEMBERS', untold)) do table.insert(ended, id) end
  redis.call('DEL', untold)
end
return ended`;

/**
 * ARGV: prefix, compact userId, disabledAt, feed channel. Disabling, in one atomic step:
 * marks the user disabled (`ud:`), ends every session of theirs (with its refresh tokens)
 * and appends a `session_ended` change for each to the feed, so no instance keeps a session
 * of a disabled user whatever fails afterwards. The ids ended wait in `ue:` for the
 * core's `deleteByUser` (it counts them, marks why they ended and drops them from its
 * instance's caches at once, publishing each again). Returns the ids ended.
 */
export const DISABLE_USER = `${END_SESSION}
local prefix, uid, at = ARGV[1], ARGV[2], ARGV[3]
redis.call('SET', prefix .. '${DISABLED_KEY}' .. uid, at)
local ended = {}
local untold = prefix .. '${DISABLE_ENDED_KEY}' .. uid
local index = prefix .. '${USER_INDEX_KEY}' .. uid
for _, id in ipairs(redis.call('HKEYS', index)) do
  if endSession(prefix, id) then
    table.insert(ended, id)
    redis.call('SADD', untold, id)
    local seq = redis.call('INCR', prefix .. 'changes:seq')
    redis.call('ZADD', prefix .. 'changes', seq, seq .. '|session_ended|' .. at .. '|' .. id)
  end
end
redis.call('DEL', index)
if #ended > 0 then
  -- Taken a moment later; kept an hour at most, should the process that disabled die first.
  redis.call('PEXPIRE', untold, 3600000)
  redis.call('PUBLISH', ARGV[4], 'disable')
end
return ended`;

/**
 * ARGV: prefix, compact userId, one session id (or '' for all of the user's), rolesAt,
 * then the role names. Gives the user's sessions (those still there, and only theirs) the
 * roles and rolesAt they carry, keeping each one's expiry. Returns how many it rewrote.
 */
export const SET_ROLES = `
local prefix, uid, only, at = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local roles = {}
for i = 5, #ARGV do roles[#roles + 1] = ARGV[i] end
local ids = {only}
if only == '' then ids = redis.call('HKEYS', prefix .. '${USER_INDEX_KEY}' .. uid) end
local rewritten = 0
for _, id in ipairs(ids) do
  local key = prefix .. '${SESSION_KEY}' .. id
  local packed = redis.call('GET', key)
  if packed then
    local s = cmsgpack.unpack(packed)
    if s[1] == uid then
      s[14] = roles
      s[15] = at
      redis.call('SET', key, cmsgpack.pack(s), 'KEEPTTL')
      rewritten = rewritten + 1
    end
  end
end
return rewritten`;

/**
 * KEYS: session, user index. ARGV: packed session, idleExpiresAt, expiresAt, session id,
 * disabled marker. Stores a new session unless its user is marked disabled (0 then).
 */
export const CREATE_SESSION = `
if redis.call('EXISTS', ARGV[5]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[4], '')
redis.call('PEXPIREAT', KEYS[2], ARGV[3], 'GT')
redis.call('PEXPIREAT', KEYS[2], ARGV[3], 'NX')
return 1`;

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

/**
 * KEYS: feed. ARGV: afterSeq, notBefore, limit. Up to `limit` members after `afterSeq`
 * whose time is at least `notBefore`, oldest first. The time filter applies before the
 * limit (a member is "seq|kind|at|subject"): entries older than the window, however many,
 * never fill a batch and hide the newer ones behind them.
 */
export const READ_FEED = `
local out = {}
local cursor = '(' .. ARGV[1]
local notBefore = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
while #out < limit do
  local batch = redis.call('ZRANGEBYSCORE', KEYS[1], cursor, '+inf', 'WITHSCORES', 'LIMIT', 0, 500)
  for i = 1, #batch, 2 do
    local member = batch[i]
    local at = tonumber(string.match(member, '^[^|]*|[^|]*|([^|]*)'))
    if at >= notBefore then
      out[#out + 1] = member
      if #out >= limit then break end
    end
    cursor = '(' .. batch[i + 1]
  end
  if #batch < 1000 then break end
end
return out`;

/**
 * KEYS: epoch, seq counter, feed. ARGV: a candidate epoch. The feed's epoch (created with
 * the candidate when missing: the history before it is lost) and the highest seq ever
 * given, whether or not its entry was pruned since (a quiet feed has lost nothing).
 *
 * The epoch carries the primary's replication id: a replica promoted after its primary
 * died takes a new one, so a failover starts a new epoch. A follower may have read an
 * entry the dead primary never passed on; the promoted replica then gives its seq to
 * another change, which that follower would skip as read. A new epoch makes every
 * follower read the window again instead.
 */
export const FEED_POSITION = `
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  redis.call('SET', KEYS[1], ARGV[1])
  epoch = ARGV[1]
end
local replid = string.match(redis.call('INFO', 'replication'), 'master_replid:(%w+)') or ''
return {epoch .. '/' .. replid, redis.call('GET', KEYS[2]) or '0'}`;

/** KEYS: counter. ARGV: now. Takes back one hit of a window that has not ended. */
export const RELEASE = `
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local sep = string.find(value, ':')
local count = tonumber(string.sub(value, 1, sep - 1))
local reset = tonumber(string.sub(value, sep + 1))
if reset <= tonumber(ARGV[1]) or count <= 0 then return 0 end
redis.call('SET', KEYS[1], (count - 1) .. ':' .. reset, 'KEEPTTL')
return 1`;

/** KEYS: seq counter, feed. ARGV: kind, subject, at, channel. Appends with the next seq. */
export const PUBLISH = `
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, seq .. '|' .. ARGV[1] .. '|' .. ARGV[3] .. '|' .. ARGV[2])
redis.call('PUBLISH', ARGV[4], seq)
return seq`;
