#!/bin/sh
# Captures the wrk outputs the parser tests and FuzzWrk read: real runs of
# wrk 4.1.0 (Debian 12) against nginx 1.22 (nginx-light) on loopback, with
# benchbook's done() hook (../../wrk_summary.lua) as benchbook writes it.
# Each case writes NAME.out (stdout: wrk's report, then the hook's line) and
# NAME.err (stderr). Run from this folder: sh capture.sh
set -u
here=$(pwd)
hook=$here/../../wrk_summary.lua
w=$(mktemp -d /tmp/wrkcap.XXXXXX)
mkdir -p "$w/www" "$w/tmp"
head -c 1024 /dev/zero >"$w/www/1k.bin"
port=18931
cat >"$w/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid nginx.pid;
error_log error.log;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path tmp; proxy_temp_path tmp; fastcgi_temp_path tmp; uwsgi_temp_path tmp; scgi_temp_path tmp;
  server { listen 127.0.0.1:$port; root www; }
}
CONF
nginx_up() { /usr/sbin/nginx -p "$w" -c "$w/nginx.conf" -e "$w/error.log" & nginx=$!; sleep 0.5; }
nginx_up
# hookfor SCRIPT: the hook benchbook writes, loading SCRIPT first when given.
hookfor() {
  { [ -n "$1" ] && printf 'local benchbook_script = "%s"\n' "$1"; cat "$hook"; } >"$w/hook.lua"
}
run() { name=$1; shift; wrk "$@" >"$here/$name.out" 2>"$here/$name.err"; echo "$name: exit $?"; }
url=http://127.0.0.1:$port
common="--threads 2 --connections 8 --duration 1s --timeout 2s --script $w/hook.lua"

hookfor ""
run get-1k $common "$url/1k.bin"
run close $common --header "Connection: close" "$url/1k.bin"
run notfound $common "$url/nope"
run closed $common "http://127.0.0.1:1/"

# A script beside the notebook: a header, and a done() of its own that
# prints (even a line that looks like the hook's).
printf 'wrk.headers["X-Bench"] = "1"\ndone = function(s, l, r)\n  io.write("the script saw ", s.requests, " requests\\n")\n  io.write("benchbook-wrk: {\\"requests\\": -1}\\n")\nend\n' >"$w/own.lua"
hookfor "$w/own.lua"
run script $common "$url/1k.bin"
printf 'wrk.method = = "POST"\n' >"$w/syntax.lua"
hookfor "$w/syntax.lua"
run script-syntax $common "$url/1k.bin"
printf 'done = function(s, l, r)\n  error("cannot write \\"report.csv\\"")\nend\n' >"$w/done-error.lua"
hookfor "$w/done-error.lua"
run script-done-error $common "$url/1k.bin"

# The server killed half-way, and paused (requests time out).
hookfor ""
(sleep 0.5; kill -9 $nginx) &
run killed --threads 2 --connections 8 --duration 2s --timeout 2s --script "$w/hook.lua" "$url/1k.bin"
wait
nginx_up
kill -STOP $nginx
run hung --threads 1 --connections 4 --duration 2s --timeout 1s --script "$w/hook.lua" "$url/1k.bin"
kill -9 $nginx
sed -i "s|$w|/tmp/wrkcap|g" "$here"/*.out "$here"/*.err
rm -rf "$w"
