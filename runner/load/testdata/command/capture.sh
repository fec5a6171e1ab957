#!/bin/sh
# Captures the outputs of commands that the command tool's metric readers
# are tested and fuzzed with (FuzzCommandMetrics). Each case writes NAME.out
# (stdout) and NAME.err (stderr). Run from this folder: sh capture.sh
set -u
run() { name=$1; shift; "$@" >"$name.out" 2>"$name.err"; echo "$name: exit $?"; }
run stats-json sh -c 'echo {\"stats\":{\"rate\":42}}'
run log-then-json sh -c 'echo compiling 120 files; echo warning: x.c: unused; echo "{\"stats\":{\"rate\":37.5,\"files\":120},\"ok\":true}"'
run text-rate sh -c 'echo "build done in 2.31 s"; echo "rate: 51.9 files/s"'
# gzip -l: a table whose numbers a regex picks out.
head -c 100000 /dev/zero >zeros && gzip -kf zeros
run gzip-list gzip -l zeros.gz
rm -f zeros zeros.gz
run exit1 sh -c 'echo partial; echo "error: cannot open input.c" >&2; exit 1'
run nothing true
