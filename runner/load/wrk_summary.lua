-- benchbook's done() hook for wrk: after the run, one line of JSON after the
-- marker "benchbook-wrk: " on standard output, which benchbook reads instead
-- of wrk's report (text for people, with rounded, scaled figures).
--
-- A notebook's own script, when there is one, is loaded first (benchbook
-- sets benchbook_script to its path above this text): its setup, init,
-- request and response run as wrk would run them, and its done() runs
-- before this one. Its errors are reported on the same line: one raised
-- while it loads ends wrk at once (wrk itself would run the whole duration
-- without the script), one of its done() comes with the figures.
local spectrum = {1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 99, 99.5, 99.9, 99.95, 99.99}

-- num writes a number JSON can hold: wrk's min of no latency is 2^64-1, its
-- mean of none may be NaN.
local function num(x)
  if x ~= x or x == math.huge or x == -math.huge then
    return "null"
  end
  return string.format("%.17g", x)
end

local function str(s)
  return '"' .. string.gsub(tostring(s), '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

if benchbook_script then
  local ok, err = pcall(dofile, benchbook_script)
  if not ok then
    io.write("\n", "benchbook-wrk: ", '{"script_error":', str(err), "}\n")
    io.flush()
    os.exit(1)
  end
end
local script_done = done

done = function(summary, latency, requests)
  local script_error
  if script_done then
    local ok, err = pcall(script_done, summary, latency, requests)
    if not ok then
      script_error = err
    end
  end
  local e = summary.errors
  local out = {
    '{"duration_us":', num(summary.duration),
    ',"requests":', num(summary.requests),
    ',"bytes":', num(summary.bytes),
    ',"errors":{"connect":', num(e.connect), ',"read":', num(e.read), ',"write":', num(e.write),
    ',"status":', num(e.status), ',"timeout":', num(e.timeout), '}',
    ',"latency":{"min":', num(latency.min), ',"max":', num(latency.max), ',"mean":', num(latency.mean),
    ',"percentiles":[',
  }
  for i, p in ipairs(spectrum) do
    if i > 1 then
      out[#out + 1] = ","
    end
    out[#out + 1] = "[" .. string.format("%g", p) .. "," .. num(latency:percentile(p)) .. "]"
  end
  out[#out + 1] = "]}"
  if script_error ~= nil then
    out[#out + 1] = ',"script_error":' .. str(script_error)
  end
  out[#out + 1] = "}"
  io.write("\nbenchbook-wrk: ", table.concat(out), "\n")
  io.flush()
end
