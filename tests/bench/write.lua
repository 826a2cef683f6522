-- wrk script: each connection alternates POST (create a space) and DELETE (of the space it made).
-- wrk.path is the spaces collection, e.g. /api/v1/projects/<uuid>/spaces.
local pending = {}
local counter = 0

request = function()
  local uuid = table.remove(pending)
  if uuid then
    return wrk.format("DELETE", wrk.path .. "/" .. uuid)
  end
  counter = counter + 1
  -- wrk.format replaces wrk.headers (the -H options) with what it is given: copy them.
  local headers = {["Content-Type"] = "application/json"}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  return wrk.format("POST", wrk.path, headers,
    '{"name": "bench ' .. counter .. ' ' .. math.random(1e9) .. '"}')
end

response = function(status, headers, body)
  local uuid = body:match('"uuid":"([%w%-]+)"')
  if status == 200 and uuid and body:find('"parentSpaceUuid"') then
    table.insert(pending, uuid)
  end
end
