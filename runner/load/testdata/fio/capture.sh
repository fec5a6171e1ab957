#!/bin/sh
# Captures the fio outputs the parser tests and FuzzFioJSON read: real runs of
# fio 3.33 (Debian 12), with the command lines benchbook builds. Each case
# writes NAME.out (stdout: fio's notes, then its json+) and NAME.err (stderr).
# Run as root from this folder: sh capture.sh
set -u
here=$(pwd)
w=$(mktemp -d /tmp/fiocap.XXXXXX)
chmod 755 "$w"
cd "$w"
run() { name=$1; shift; fio --output-format=json+ "$@" >"$here/$name.out" 2>"$here/$name.err"; echo "$name: exit $?"; }
job="--name=benchbook --ioengine=psync --direct=0 --group_reporting"

run randread $job --rw=randread --bs=4k --size=8M --iodepth=1 --numjobs=1 --runtime=1000ms --time_based --directory="$w"
# iodepth 4 with a synchronous engine: fio prints a note before its JSON.
run randrw-2jobs $job --rw=randrw --bs=4k --size=4M --iodepth=4 --numjobs=2 --rwmixread=70 --runtime=1000ms --time_based --directory="$w"
# With the histogram log of a timeline (benchbook's --write_hist_log): two
# jobs, 2 s; the log of job 1 is kept as randrw-hist.log.
run randrw-hist $job --rw=randrw --bs=4k --size=4M --iodepth=1 --numjobs=2 --rwmixread=70 --runtime=2000ms --time_based --directory="$w" --write_hist_log="$w/benchbook-timeline" --log_hist_msec=1000
cp benchbook-timeline_clat_hist.1.log "$here/randrw-hist.log"
run seqwrite-fsync $job --rw=write --bs=64k --size=8M --iodepth=1 --numjobs=1 --fsync=16 --directory="$w"

# A job file with two jobs and no group_reporting: two entries to merge.
printf '[global]\nioengine=psync\nsize=4M\nruntime=1\ntime_based\n[reader]\nrw=randread\n[writer]\nrw=randwrite\n' >two.fio
run jobfile-2jobs two.fio
# Jobs run one after another: groups benchbook refuses to add up.
printf '[global]\nioengine=psync\nsize=2M\n[first]\nrw=read\n[second]\nstonewall\nrw=write\n' >stonewall.fio
run jobfile-stonewall stonewall.fio
# A job that did no I/O, exit 0.
printf '[nothing]\nfilename=nothing.dat\nsize=1M\nrw=read\ncreate_only=1\n' >noio.fio
run noio noio.fio

# Failures: a file name under a regular file, permission denied, a read of
# /dev/null (fio's error line on stdout), an option fio refuses.
touch notadir
run badname $job --rw=randread --bs=4k --size=1M --iodepth=1 --numjobs=1 --filename="$w/notadir/file"
mkdir ro && touch ro/file && chmod 000 ro/file && chmod 555 ro
fio() { runuser -u nobody -- /usr/bin/fio "$@"; }
run eacces $job --rw=read --bs=4k --size=1M --iodepth=1 --numjobs=1 --filename="$w/ro/file"
unset -f fio
run devnull $job --rw=read --bs=4k --size=1M --iodepth=1 --numjobs=1 --filename=/dev/null
run badopt $job --rw=bogus --bs=4k --size=1M --directory="$w"
run toosmall $job --rw=read --bs=8k --size=4k --directory="$w"
cd "$here" && rm -rf "$w"
