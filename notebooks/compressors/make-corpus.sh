#!/bin/sh
# Writes the compressors notebook's input to standard output: about 2 MB of
# English-like prose, the same bytes on every machine. Words are drawn from
# the list below with a skew towards its start (common words come first, as
# in real text) by a Park-Miller generator with a fixed seed; the arithmetic
# stays below 2^53, so every awk (mawk, gawk, busybox) computes the same
# numbers. No rand(): its sequence differs between awks.
exec awk -v target=2000000 '
BEGIN {
	n = split("the of and to a in that is was he for it with as his on be at by i " \
		"this had not are but from or have an they which one you were her all she there would their " \
		"we him been has when who will more no if out so said what up its about into than them can " \
		"only other new some could time these two may then do first any my now such like our over man " \
		"me even most made after also did many before must through back years where much your way well " \
		"down should because each just those people how too little state good very make world still " \
		"own see men work long get here between both life being under never day same another know while " \
		"last might us great old year off come since against go came right used take three states himself " \
		"few house use during without again place american around however home small found thought went " \
		"say part once general high upon school every does got united left number course war until always " \
		"away something fact though water less public put think almost hand enough far took head yet " \
		"government system better set told nothing night end why called didn find look asked later knew " \
		"point next program city business give group toward young days let room president side social " \
		"given present several order national possible rather second face per among form important often " \
		"things looked early white case john become large big need four within felt along children saw " \
		"best church ever least power development light thing seemed family interest want members mind " \
		"country area others done turned although open god service certain kind problem began different " \
		"door thus help sense means whole matter perhaps itself york times law human line above name " \
		"example action company hands local show whether five history gave today either act feet across " \
		"taken past quite anything seen having death experience body word half really week field car " \
		"words already themselves information tell college shall money period held keep sure free " \
		"probably seems political real behind cannot miss question office brought whose special heard " \
		"major problems ago became federal moment study available known result street economic boy " \
		"position reason change south board individual job society areas west close turn love community " \
		"true court force full seem am age voice center woman control common policy necessary following " \
		"front sometimes six girl clear further land run students provide able feel party music education " \
		"university child effect level stood military town short morning total outside rate figure class " \
		"art century washington north usually plan leave therefore evidence top million sound black strong " \
		"hard various says believe type value play surface soon mean near lines table peace modern tax " \
		"road red book personal process situation minutes increase schools idea english alone women gone " \
		"nor food living amount feeling private makes wanted low simply disk cache queue page server " \
		"request latency kernel block file write read memory network socket packet thread process", w, " ")
	x = 20141102                       # the seed: any value from 1 to 2^31-2
	size = 0
	while (size < target) {
		sentences = 3 + next_int(5)
		line = ""
		for (s = 0; s < sentences; s++) {
			words = 5 + next_int(12)
			for (k = 0; k < words; k++) {
				u = next_int(1000000) / 1000000
				word = w[1 + int(n * u * u * u)]
				if (k == 0)
					word = toupper(substr(word, 1, 1)) substr(word, 2)
				if (k == words - 1)
					word = word (next_int(8) == 0 ? "?" : ".")
				else if (next_int(9) == 0)
					word = word ","
				if (length(line) + 1 + length(word) > 72) {
					print line
					size += length(line) + 1
					line = word
				} else
					line = (line == "" ? word : line " " word)
			}
		}
		print line
		print ""
		size += length(line) + 2
	}
}
# next_int returns 0 to m-1 from the Park-Miller generator (16807 * x mod
# 2^31-1; the product is below 2^46).
function next_int(m) {
	x = (x * 16807) % 2147483647
	return x % m
}'
