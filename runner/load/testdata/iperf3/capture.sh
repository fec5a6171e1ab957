#!/bin/sh
# Captures the iperf3 outputs the parser tests and FuzzIperf3 read: real
# runs of iperf3 3.12 (Debian 12) on loopback, with the command lines
# benchbook builds. Each case writes NAME.out (stdout: iperf3's JSON) and
# NAME.err (stderr). Run from this folder: sh capture.sh
set -u
here=$(pwd)
port=18932
server_up() { iperf3 --server --bind 127.0.0.1 --port $port --forceflush >/dev/null 2>&1 & server=$!; sleep 0.5; }
run() { name=$1; shift; iperf3 --client 127.0.0.1 --port $port --json --connect-timeout 10000 "$@" >"$here/$name.out" 2>"$here/$name.err"; echo "$name: exit $?"; }

server_up
run tcp --time 1 --parallel 1
run tcp-reverse-2 --time 1 --parallel 2 --reverse
run tcp-omit --time 1 --parallel 1 --omit 1 --length 64K
run udp --time 1 --parallel 1 --udp --bitrate 100M
run udp-reverse --time 1 --parallel 2 --udp --bitrate 50M --reverse
# A UDP rate loopback cannot carry without loss.
run udp-lossy --time 1 --parallel 1 --udp --bitrate 40G --length 1400
# Busy: another client's test is running.
iperf3 --client 127.0.0.1 --port $port --time 3 >/dev/null 2>&1 &
other=$!
sleep 0.5
run busy --time 1 --parallel 1
wait $other
# The server killed half-way.
(sleep 1; kill -9 $server) &
killer=$!
run killed --time 3 --parallel 1
wait $killer
# No server.
run noserver --time 1 --parallel 1
