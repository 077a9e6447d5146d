/*
 * The queue's Lua scripts. Each touches only keys of one hash tag: the per-job scripts the job's
 * "{<id>}" keys, the index scripts the queue's "{q}" keys. Times are Redis's own clock (TIME), so
 * workers on hosts with skewed clocks agree on leases. Every per-job write by a worker names its
 * attempt and is refused (-1) unless the job is still running that attempt: the fence.
 */
#include "queue/internal.h"
#include "queue/keys.h"

#define LUA_NOW                                                              \
    "local t = redis.call('TIME') "                                          \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) " \
    "local function s(x) return string.format('%d', x) end "

/* Terminal: keep the job's keys for keep_ms (ARGV[2] in the scripts that use it). */
#define LUA_EXPIRE_ALL(keep)                                                             \
    "redis.call('PEXPIRE', KEYS[1], " keep ") redis.call('PEXPIRE', KEYS[2], " keep ") " \
    "redis.call('PEXPIRE', KEYS[3], " keep ") "

/* The fence: the job must be running this attempt. */
#define LUA_FENCE                                                                 \
    "local v = redis.call('HMGET', KEYS[1], '" REEL_F_STATE "', '" REEL_F_ATTEMPT \
    "', '" REEL_F_CANCEL "', '" REEL_F_CREATED_AT "') "                           \
    "if v[1] ~= 'running' or v[2] ~= ARGV[1] then return {-1} end "

const char *const reel_queue_scripts[SCRIPT_COUNT_] = {
    /* KEYS: ready high, normal, low, delayed, running, meta. ARGV: caps, lease_ms, scan limit.
     * Returns the id taken (now in running with a lease) or false. */
    [SCRIPT_CLAIM] =
        LUA_NOW "local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, 100) "
                "for _, id in ipairs(due) do "
                "  local m = redis.call('HGET', KEYS[6], id) "
                "  if m then "
                "    local p, c = string.match(m, '^(%d)|(%d+)|') "
                "    redis.call('ZADD', KEYS[tonumber(p)], c, id) "
                "  end "
                "  redis.call('ZREM', KEYS[4], id) "
                "end "
                "local caps = {} "
                "for c in string.gmatch(ARGV[1], '[^,]+') do caps[c] = true end "
                "local lim = tonumber(ARGV[3]) "
                "for i = 1, 3 do "
                "  local ids = redis.call('ZRANGE', KEYS[i], 0, lim - 1) "
                "  for _, id in ipairs(ids) do "
                "    local m = redis.call('HGET', KEYS[6], id) "
                "    local ok = m ~= false "
                "    if ok then "
                "      local tags = string.match(m, '^%d|%d+|(.*)$') or '' "
                "      for tg in string.gmatch(tags, '[^,]+') do "
                "        if not caps[tg] then ok = false break end "
                "      end "
                "    else "
                "      redis.call('ZREM', KEYS[i], id) "
                "    end "
                "    if ok then "
                "      redis.call('ZREM', KEYS[i], id) "
                "      redis.call('ZADD', KEYS[5], now + tonumber(ARGV[2]), id) "
                "      return id "
                "    end "
                "  end "
                "end "
                "return false",

    /* KEYS: job. ARGV: worker, lease_ms. Returns {attempt, created} or {0, state or ''}. */
    [SCRIPT_START] = LUA_NOW
    "local v = redis.call('HMGET', KEYS[1], '" REEL_F_STATE "', '" REEL_F_CREATED_AT "') "
    "if v[1] ~= 'queued' then return {0, v[1] or ''} end "
    "local a = redis.call('HINCRBY', KEYS[1], '" REEL_F_ATTEMPT "', 1) "
    "redis.call('HSET', KEYS[1], '" REEL_F_STATE "', 'running', '" REEL_F_WORKER "', ARGV[1], "
    "  '" REEL_F_LEASE_UNTIL "', s(now + tonumber(ARGV[2])), '" REEL_F_STARTED_AT
    "', s(now), '" REEL_F_PROGRESS "', '0', "
    "  '" REEL_F_FRAMES_DONE "', '0', '" REEL_F_FPS "', '0', '" REEL_F_ETA_S
    "', '0', '" REEL_F_RETRY_AT "', '0') "
    "return {a, v[2] or '0'}",

    /* KEYS: job. ARGV: attempt, lease_ms. Returns -1 stale, 1 renewed, 2 renewed + cancel. */
    [SCRIPT_HEARTBEAT] = LUA_NOW LUA_FENCE "redis.call('HSET', KEYS[1], '" REEL_F_LEASE_UNTIL
                                           "', s(now + tonumber(ARGV[2]))) "
                                           "if v[3] == '1' then return {2} end "
                                           "return {1}",

    /* KEYS: job. ARGV: attempt, progress, frames_done, frames_total, fps, eta_s. */
    [SCRIPT_PROGRESS] = LUA_FENCE "redis.call('HSET', KEYS[1], '" REEL_F_PROGRESS
                                  "', ARGV[2], '" REEL_F_FRAMES_DONE "', ARGV[3], "
                                  "  '" REEL_F_FRAMES_TOTAL "', ARGV[4], '" REEL_F_FPS
                                  "', ARGV[5], '" REEL_F_ETA_S "', ARGV[6]) "
                                  "return {1}",

    /* KEYS: job, doc, log. ARGV: attempt, keep_ms, field, value, ...
     * Returns -1 stale, -2 cancel requested (nothing written), 1 succeeded. */
    [SCRIPT_FINISH] = LUA_NOW LUA_FENCE
    "if v[3] == '1' then return {-2} end "
    "redis.call('HSET', KEYS[1], '" REEL_F_STATE "', 'succeeded', '" REEL_F_FINISHED_AT
    "', s(now), '" REEL_F_PROGRESS "', '1', "
    "  '" REEL_F_ERROR_CODE "', '', '" REEL_F_ERROR_MESSAGE "', '', '" REEL_F_ERROR_PATH
    "', '', unpack(ARGV, 3)) " LUA_EXPIRE_ALL("ARGV[2]") "return {1, v[4] or '0'}",

    /* KEYS: job, doc, log. ARGV: attempt, keep_ms, retryable, max_attempts, retry_base_ms, field,
     * value, ... Returns -1 stale, {1, due, created} queued again, {2, 0, created} failed. */
    [SCRIPT_FAIL] = LUA_NOW LUA_FENCE
    "redis.call('HSET', KEYS[1], unpack(ARGV, 6)) "
    "local a = tonumber(v[2]) "
    "if ARGV[3] == '1' and v[3] ~= '1' and a < tonumber(ARGV[4]) then "
    "  local due = now + tonumber(ARGV[5]) * (2 ^ (a - 1)) "
    "  redis.call('HSET', KEYS[1], '" REEL_F_STATE "', 'queued', '" REEL_F_WORKER
    "', '', '" REEL_F_LEASE_UNTIL "', '0', "
    "    '" REEL_F_RETRY_AT "', s(due)) "
    "  return {1, s(due), v[4] or '0'} "
    "end "
    "redis.call('HSET', KEYS[1], '" REEL_F_STATE "', 'failed', '" REEL_F_FINISHED_AT
    "', s(now)) " LUA_EXPIRE_ALL("ARGV[2]") "return {2, '0', v[4] or '0'}",

    /* KEYS: job, doc, log. ARGV: attempt, keep_ms. */
    [SCRIPT_CANCELED] = LUA_NOW LUA_FENCE
    "redis.call('HSET', KEYS[1], '" REEL_F_STATE "', 'canceled', '" REEL_F_FINISHED_AT "', s(now), "
    "  '" REEL_F_ERROR_CODE "', 'canceled', '" REEL_F_ERROR_MESSAGE
    "', 'the job was canceled while running', "
    "  '" REEL_F_ERROR_PATH "', '') " LUA_EXPIRE_ALL("ARGV[2]") "return {1, v[4] or '0'}",

    /* KEYS: job. ARGV: attempt. The attempt is given back: the next claim reuses its number. */
    [SCRIPT_RELEASE] =
        LUA_FENCE "if v[3] == '1' then return {-2} end "
                  "redis.call('HSET', KEYS[1], '" REEL_F_STATE "', 'queued', '" REEL_F_WORKER
                  "', '', '" REEL_F_LEASE_UNTIL "', '0', "
                  "  '" REEL_F_RETRY_AT "', '0', '" REEL_F_ATTEMPT "', tonumber(ARGV[1]) - 1) "
                  "return {1, v[4] or '0'}",

    /* KEYS: job, doc, log. ARGV: keep_ms (as ARGV[2]; ARGV[1] unused).
     * Returns {0} unknown, {1, created} canceled now, {2} flagged (running), {3} finished. */
    [SCRIPT_CANCEL] = LUA_NOW
    "local v = redis.call('HMGET', KEYS[1], '" REEL_F_STATE "', '" REEL_F_CREATED_AT "') "
    "if not v[1] then return {0} end "
    "if v[1] == 'queued' then "
    "  redis.call('HSET', KEYS[1], '" REEL_F_STATE "', 'canceled', '" REEL_F_CANCEL
    "', '1', '" REEL_F_FINISHED_AT "', s(now), "
    "    '" REEL_F_ERROR_CODE "', 'canceled', '" REEL_F_ERROR_MESSAGE
    "', 'the job was canceled before it started') " LUA_EXPIRE_ALL(
        "ARGV[2]") "  return {1, v[2] or '0'} "
                   "end "
                   "if v[1] == 'running' then redis.call('HSET', KEYS[1], '" REEL_F_CANCEL
                   "', '1') return {2} end "
                   "return {3}",

    /* KEYS: job, doc, log. ARGV: keep_ms (ARGV[2]), max_attempts, retry_base_ms (ARGV[1] unused).
     * Returns {0} nothing to do (gone or finished), {1, due, created} queued again, {2, lease}
     * still alive, {3, created} failed, {4, created} canceled. */
    [SCRIPT_EXPIRE] =
        LUA_NOW "local v = redis.call('HMGET', KEYS[1], '" REEL_F_STATE "', '" REEL_F_ATTEMPT
                "', '" REEL_F_LEASE_UNTIL "', '" REEL_F_CANCEL "', "
                "  '" REEL_F_CREATED_AT "', '" REEL_F_RETRY_AT "', '" REEL_F_ERROR_CODE "') "
                "if not v[1] then return {0} end "
                "if v[1] == 'queued' then return {1, v[6] or '0', v[5] or '0'} end "
                "if v[1] ~= 'running' then return {0} end "
                "if tonumber(v[3] or '0') > now then return {2, v[3]} end "
                "if v[4] == '1' then "
                "  redis.call('HSET', KEYS[1], '" REEL_F_STATE "', 'canceled', '" REEL_F_FINISHED_AT
                "', s(now), "
                "    '" REEL_F_ERROR_CODE "', 'canceled', '" REEL_F_ERROR_MESSAGE
                "', 'the job was canceled') " LUA_EXPIRE_ALL(
                    "ARGV[2]") "  return {4, v[5] or '0'} "
                               "end "
                               "local a = tonumber(v[2] or '0') "
                               "if a >= tonumber(ARGV[3]) then "
                               "  local msg = 'the worker stopped renewing its lease on attempt ' "
                               ".. a .. ' of ' .. ARGV[3] "
                               "  if v[7] and v[7] ~= '' then "
                               "    redis.call('HSET', KEYS[1], '" REEL_F_STATE
                               "', 'failed', '" REEL_F_FINISHED_AT "', s(now)) "
                               "  else "
                               "    redis.call('HSET', KEYS[1], '" REEL_F_STATE
                               "', 'failed', '" REEL_F_FINISHED_AT "', s(now), "
                               "      '" REEL_F_ERROR_CODE "', 'internal', '" REEL_F_ERROR_MESSAGE
                               "', msg, '" REEL_F_ERROR_PATH "', '') "
                               "  end " LUA_EXPIRE_ALL(
                                   "ARGV[2]") "  return {3, v[5] or '0'} "
                                              "end "
                                              "local due = now + tonumber(ARGV[4]) * (2 ^ (a - 1)) "
                                              "redis.call('HSET', KEYS[1], '" REEL_F_STATE
                                              "', 'queued', '" REEL_F_WORKER
                                              "', '', '" REEL_F_LEASE_UNTIL "', '0', "
                                              "  '" REEL_F_RETRY_AT "', s(due)) "
                                              "return {1, s(due), v[5] or '0'}",

    /* KEYS: ready high, normal, low, delayed, running, meta. ARGV: id, due (Redis ms; 0 = now). */
    [SCRIPT_REQUEUE] = LUA_NOW "redis.call('ZREM', KEYS[5], ARGV[1]) "
                               "local m = redis.call('HGET', KEYS[6], ARGV[1]) "
                               "if not m then return 0 end "
                               "local p, c = string.match(m, '^(%d)|(%d+)|') "
                               "if tonumber(ARGV[2]) > now then "
                               "  redis.call('ZREM', KEYS[tonumber(p)], ARGV[1]) "
                               "  redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1]) "
                               "else "
                               "  redis.call('ZREM', KEYS[4], ARGV[1]) "
                               "  redis.call('ZADD', KEYS[tonumber(p)], c, ARGV[1]) "
                               "end "
                               "return 1",

    /* KEYS: ready high, normal, low, delayed, running, meta. ARGV: id. */
    [SCRIPT_DROP] = "for i = 1, 5 do redis.call('ZREM', KEYS[i], ARGV[1]) end "
                    "redis.call('HDEL', KEYS[6], ARGV[1]) return 1",

    /* KEYS: index queued, running, succeeded, failed, canceled. ARGV: id, created, state 1..5. */
    [SCRIPT_INDEX] = "local k = tonumber(ARGV[3]) "
                     "for i = 1, 5 do if i ~= k then redis.call('ZREM', KEYS[i], ARGV[1]) end end "
                     "redis.call('ZADD', KEYS[k], ARGV[2], ARGV[1]) return 1",
};
