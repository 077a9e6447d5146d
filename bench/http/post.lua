-- wrk script: POST /v1/jobs at RATE requests a second (see pace.lua).
-- BODY_FILE names the job document to submit; TOKEN, when set, is sent as a bearer token.
package.path = debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua;" .. package.path
local pace = require("pace")

local f = assert(io.open(os.getenv("BODY_FILE") or "job.json", "rb"))
wrk.method = "POST"
wrk.path = "/v1/jobs"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
if os.getenv("TOKEN") then wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN") end

setup = pace.setup
delay = pace.delay
done = pace.done
function init(args)
  pace.init(tonumber(os.getenv("THREADS") or "1"))
end
