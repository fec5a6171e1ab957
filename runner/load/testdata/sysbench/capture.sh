#!/bin/sh
# Captures the sysbench outputs the parser tests and FuzzSysbench read: real
# runs of sysbench 1.0.20 (Debian 12) with the command lines benchbook
# builds. Each case writes NAME.out (stdout) and NAME.err (stderr).
# Run from this folder: sh capture.sh
set -u
here=$(pwd)
w=$(mktemp -d /tmp/sbcap.XXXXXX)
cd "$w"
run() { name=$1; shift; sysbench "$@" >"$here/$name.out" 2>"$here/$name.err"; echo "$name: exit $?"; }
common="--threads=2 --time=1 --events=0 --percentile=95 --histogram=on"

run cpu cpu $common --cpu-max-prime=10000 run
run memory memory $common --memory-block-size=1K --memory-total-size=100G --memory-oper=write --memory-access-mode=seq run
files="--file-total-size=16M --file-num=4"
run fileio-prepare fileio $files prepare
run fileio fileio $common $files --file-test-mode=rndrw --file-block-size=16384 --file-fsync-freq=100 run
run fileio-cleanup fileio $files cleanup
# Failures: an option sysbench does not know, a value it refuses (exit 1,
# FATAL on stdout), a fileio run without its files, files it cannot lay out
# (a directory where a file goes).
run badopt cpu $common --cpu-max-primes=10 run
run badvalue memory $common --memory-block-size=abc run
run fileio-unprepared fileio $common $files --file-test-mode=rndrd run
mkdir test_file.0
run fileio-prepare-fails fileio $files prepare
cd "$here" && rm -rf "$w"
