#!/bin/sh
# The timed command of notebooks/compressors.toml, run in a scratch folder
# of one guest (compressors/GUEST/benchbook-scratch-*): compresses
# corpus.txt with that guest's ../compress into a file and prints what the
# notebook's metrics read: the compressed size, the ratio, and the
# compressor's own peak resident memory as GNU time measures it (benchbook's
# max_rss_bytes cannot go below benchbook's own; the notebook says why).
# Shell arithmetic, not awk: a gawk would be larger than gzip.
set -e
/usr/bin/time -f %M -o rss.kib sh ../compress corpus.txt > out
in=$(wc -c < corpus.txt)
out=$(wc -c < out)
read kib < rss.kib
r=$((in * 1000 / out))
printf 'compressed %d bytes, ratio %d.%03d, compressor peak %d bytes\n' \
	"$out" $((r / 1000)) $((r % 1000)) $((kib * 1024))
