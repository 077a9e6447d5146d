-- wrk script: GET /v1/jobs/{id} at RATE requests a second (see pace.lua), cycling through the
-- job ids listed one a line in IDS_FILE. TOKEN, when set, is sent as a bearer token.
package.path = debug.getinfo(1, "S").source:sub(2):match("(.*/)") .. "?.lua;" .. package.path
local pace = require("pace")

local ids = {}
for line in io.lines(os.getenv("IDS_FILE") or "ids.txt") do
  if #line > 0 then table.insert(ids, line) end
end
assert(#ids > 0, "no job ids in IDS_FILE")
local i = 0
local headers = {}
if os.getenv("TOKEN") then headers["Authorization"] = "Bearer " .. os.getenv("TOKEN") end

setup = pace.setup
delay = pace.delay
done = pace.done
function init(args)
  pace.init(tonumber(os.getenv("THREADS") or "1"))
end
function request()
  i = i % #ids + 1
  return wrk.format("GET", "/v1/jobs/" .. ids[i], headers)
end
