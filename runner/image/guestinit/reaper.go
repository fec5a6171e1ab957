package guestinit

import (
	"errors"
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
)

// reaper waits for every child of PID 1, its own and the orphans it
// adopts, and hands each status to whoever waits for that pid: redis'
// supervision and the exec port's programs both need theirs, and a
// Wait4(-1) of one would steal the other's.
type reaper struct {
	mu      sync.Mutex
	waiting map[int]chan reaped
	early   map[int]reaped // ended before anyone waited for them
}

type reaped struct {
	ws unix.WaitStatus
	ru unix.Rusage
}

// earlyLimit bounds the statuses kept of children nobody waits for
// (orphans): the oldest are dropped past it.
const earlyLimit = 1024

func startReaper() *reaper {
	r := &reaper{waiting: map[int]chan reaped{}, early: map[int]reaped{}}
	chld := make(chan os.Signal, 16)
	signal.Notify(chld, unix.SIGCHLD)
	go func() {
		for {
			r.reapAll()
			<-chld
		}
	}()
	return r
}

// reapAll reaps every child that has ended, without blocking: signals
// coalesce, so one SIGCHLD may stand for several.
func (r *reaper) reapAll() {
	for {
		var x reaped
		pid, err := unix.Wait4(-1, &x.ws, unix.WNOHANG, &x.ru)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || pid <= 0 {
			return
		}
		r.mu.Lock()
		if c, ok := r.waiting[pid]; ok {
			delete(r.waiting, pid)
			c <- x
		} else {
			if len(r.early) >= earlyLimit {
				for k := range r.early {
					delete(r.early, k)
					break
				}
			}
			r.early[pid] = x
		}
		r.mu.Unlock()
	}
}

// wait returns pid's status and resource use once it has ended; it may
// have ended already.
func (r *reaper) wait(pid int) (unix.WaitStatus, unix.Rusage, error) {
	r.mu.Lock()
	if x, ok := r.early[pid]; ok {
		delete(r.early, pid)
		r.mu.Unlock()
		return x.ws, x.ru, nil
	}
	c := make(chan reaped, 1)
	r.waiting[pid] = c
	r.mu.Unlock()
	x := <-c
	return x.ws, x.ru, nil
}
