"""The budget counted in Redis, shared by every process that uses REDIS_URL: per company, a sorted set of the
admission times of the last minute (and one of batch requests), and one of the slots held, scored by their expiry
— a crashed holder's slot simply expires. One Lua script tallies and admits atomically on Redis' clock, with the
same rule as `limits.wait_seconds`; one round trip to be admitted, one to release.
"""

from __future__ import annotations

import uuid

import redis

from .limits import EDGE_SECONDS, Grant, Limits, StoreUnavailable, Wait, slot_poll

# KEYS: sent, batch sent, held. ARGV: token, is_batch, per_minute, batch_per_minute, concurrent, per_second
# (-1: no limit), window, hold, edge. Returns {slots full (0/1), wait in seconds as text ("0": admitted)}.
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local token, is_batch = ARGV[1], ARGV[2] == '1'
local per_minute, batch_per_minute = tonumber(ARGV[3]), tonumber(ARGV[4])
local concurrent, per_second = tonumber(ARGV[5]), tonumber(ARGV[6])
local window, hold, edge = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local wait = 0
local function window_wait(key, limit, length, min_score)
  if limit < 0 then return 0 end
  local stamps = redis.call('ZRANGEBYSCORE', key, min_score, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  if redis.call('ZCOUNT', key, min_score, '+inf') < limit then return 0 end
  return math.max(tonumber(stamps[2]) + length - now, 0) + edge
end
wait = math.max(wait, window_wait(KEYS[1], per_minute, window, '(' .. (now - window)))
wait = math.max(wait, window_wait(KEYS[1], per_second, 1, '(' .. (now - 1)))
if is_batch then
  wait = math.max(wait, window_wait(KEYS[2], batch_per_minute, window, '(' .. (now - window)))
end
local full = 0
if concurrent >= 0 and redis.call('ZCARD', KEYS[3]) >= concurrent then full = 1 end
if wait > 0 or full == 1 then return {full, tostring(wait)} end
redis.call('ZADD', KEYS[1], now, token)
if is_batch then redis.call('ZADD', KEYS[2], now, token) end
redis.call('ZADD', KEYS[3], now + hold, token)
local life = math.ceil((math.max(window, hold) + 1) * 1000)
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, life) end
return {0, '0'}
"""


def _limit(value: int | None) -> int:
    return -1 if value is None else value


class RedisStore:
    def __init__(self, client: redis.Redis, prefix: str = "kadouri:qbo-budget") -> None:
        self._client, self.prefix = client, prefix
        self._take = client.register_script(TAKE)

    def take(self, realm_id: str, *, is_batch: bool, limits: Limits) -> Grant | Wait:
        token = uuid.uuid4().hex
        args = [
            token,
            int(is_batch),
            _limit(limits.per_minute),
            _limit(limits.batch_per_minute),
            _limit(limits.concurrent),
            _limit(limits.per_second),
            limits.window,
            limits.hold,
            EDGE_SECONDS,
        ]
        try:
            full, wait = self._take(keys=self._keys(realm_id), args=args)
        except redis.RedisError as e:
            raise StoreUnavailable(e.__class__.__name__) from None
        wait = max(float(wait), slot_poll() if int(full) else 0.0)
        return Wait(wait) if wait else Grant(realm_id, token)

    def release(self, grant: Grant) -> None:
        try:
            self._client.zrem(self._keys(grant.realm_id)[2], grant.token)
        except redis.RedisError as e:
            raise StoreUnavailable(e.__class__.__name__) from None

    def clear(self) -> None:
        try:
            keys = list(self._client.scan_iter(match=f"{self.prefix}:*"))
            if keys:
                self._client.delete(*keys)
        except redis.RedisError as e:
            raise StoreUnavailable(e.__class__.__name__) from None

    def _keys(self, realm_id: str) -> list[str]:
        # One hash tag per company: the three keys stay on one node of a Redis cluster.
        return [f"{self.prefix}:{{{realm_id}}}:{name}" for name in ("sent", "batch", "held")]
