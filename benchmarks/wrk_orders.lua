-- wrk script: POST a unique order per request (the same order shape as the other benchmarks)
local counter = 0

local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  prefix = (args[1] or "r") .. "-" .. tid .. "-"
end
request = function()
  counter = counter + 1
  local body = '{"id":"' .. prefix .. counter .. '","customer":{"email":"c' .. counter .. '@example.test","name":"Customer"},"lines":[{"sku":"S0","qty":1,"price":2.5},{"sku":"S1","qty":2,"price":2.5},{"sku":"S2","qty":3,"price":2.5}]}'
  return wrk.format("POST", "/hooks/shop", {["Content-Type"]="application/json"}, body)
end
