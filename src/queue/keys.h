/*
 * Every Redis key and hash field the queue uses, in one place (docs/architecture.md explains each).
 *
 * Keys of one job share the hash tag "{<id>}" so that the per-job Lua scripts, which touch the
 * job's hash, document and log together, run on one Redis Cluster slot. The queue's own indexes
 * share the hash tag "{q}" so the claim script (which reads several of them) does too.
 *
 * Key formats take the prefix (cfg.prefix, default "reel") first.
 */
#ifndef REEL_QUEUE_KEYS_H
#define REEL_QUEUE_KEYS_H

/* ---- per job (hash tag {<id>}) ---- */
#define REEL_KEY_JOB "%s:job:{%s}"         /* hash: the status fields below */
#define REEL_KEY_JOB_DOC "%s:job:{%s}:doc" /* string: the job document as submitted */
#define REEL_KEY_JOB_LOG "%s:job:{%s}:log" /* list: the job's own log lines */
#define REEL_JOB_LOG_MAX_LINES 5000        /* older lines are trimmed */

/* ---- queue indexes (hash tag {q}) ---- */
/* zset per priority (high|normal|low): claimable ids by created ms */
#define REEL_KEY_READY "%s:{q}:ready:%s"
/* zset: retries waiting for their backoff, ids by the Redis time (ms) they become claimable */
#define REEL_KEY_DELAYED "%s:{q}:delayed"
/* zset: claimed ids by lease deadline (Redis time, ms) */
#define REEL_KEY_RUNNING "%s:{q}:running"
/* hash: id -> "<priority digit>|<created ms>|<tags>" */
#define REEL_KEY_META "%s:{q}:meta"
/* zset per state, and "all": ids by created ms (listing, counts) */
#define REEL_KEY_INDEX "%s:{q}:jobs:%s"
/* hash: render time histogram (REEL_MF_*) */
#define REEL_KEY_METRICS "%s:{q}:metrics"
/* list: ids finished outside a worker (canceled while queued) whose webhook a worker delivers */
#define REEL_KEY_HOOKS "%s:{q}:hooks"

/* ---- other keys ---- */
#define REEL_KEY_IDEM "%s:idem:%s"        /* string: SHA-256(owner "\n" key) -> job id, 24 h */
#define REEL_KEY_RATE "%s:rate:%s:%lld"   /* counter: owner, minute number; expires after 2 min */
#define REEL_KEY_TEMPLATES "%s:templates" /* hash: template name -> job document */
#define REEL_IDEM_TTL_S 86400

/* ---- job hash fields ---- */
#define REEL_F_STATE "state" /* queued|running|succeeded|failed|canceled */
#define REEL_F_PRIORITY "priority"
#define REEL_F_ATTEMPT "attempt" /* current attempt number, 0 before the first claim */
#define REEL_F_WORKER "worker"
#define REEL_F_LEASE_UNTIL "lease_until" /* Redis time in ms when the lease runs out */
#define REEL_F_CANCEL "cancel"           /* "1" once a cancel was requested */
#define REEL_F_RETRY_AT "retry_at"       /* Redis time in ms a delayed retry becomes claimable */
#define REEL_F_CREATED_AT "created_at"   /* Unix ms */
#define REEL_F_STARTED_AT "started_at"
#define REEL_F_FINISHED_AT "finished_at"
#define REEL_F_PROGRESS "progress"
#define REEL_F_FRAMES_DONE "frames_done"
#define REEL_F_FRAMES_TOTAL "frames_total"
#define REEL_F_FPS "fps"
#define REEL_F_ETA_S "eta_s"
#define REEL_F_ENGINE "engine"
#define REEL_F_ENCODER "encoder"
#define REEL_F_RENDER_TIME_S "render_time_s"
#define REEL_F_ERROR_CODE "error_code" /* API code string, "" = none */
#define REEL_F_ERROR_MESSAGE "error_message"
#define REEL_F_ERROR_PATH "error_path"
#define REEL_F_OUTPUT_PATH "output_path"
#define REEL_F_POSTER_PATH "poster_path"
#define REEL_F_CONTENT_TYPE "content_type"
#define REEL_F_OUTPUT_BYTES "output_bytes"
#define REEL_F_OUTPUT_DURATION_S "output_duration_s"
#define REEL_F_WIDTH "width"
#define REEL_F_HEIGHT "height"
#define REEL_F_CODEC "codec"
#define REEL_F_FETCH_S "fetch_s"
#define REEL_F_RENDER_S "render_s"
#define REEL_F_ENCODE_S "encode_s"
#define REEL_F_TAGS "tags"
#define REEL_F_CALLBACK_URL "callback_url"
#define REEL_F_CALLBACK_EVENTS "callback_events"
#define REEL_F_OWNER "owner"

/* ---- metrics hash fields ---- */
#define REEL_MF_BUCKET "b%d" /* cumulative count of renders with render_time_s <= bound i */
#define REEL_MF_SUM "sum_s"
#define REEL_MF_COUNT "count"
#define REEL_MF_FRAMES "frames"

/* Upper bounds (seconds) of the render time histogram; the last bucket is +Inf. */
#define REEL_QUEUE_RENDER_BUCKETS                                       \
    {                                                                   \
        1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0 \
    }
#define REEL_QUEUE_RENDER_NBUCKETS 11 /* the bounds above plus +Inf */

#endif
