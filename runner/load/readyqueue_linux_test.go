package load

import (
	"bufio"
	"errors"
	"net"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// waitingClients connects n batchConns on loopback, each registered with a
// new ready queue, and returns them with the server's side of each.
func waitingClients(t *testing.T, n int) (*readyQueue, []*batchConn, []net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	q, err := newReadyQueue(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.close)
	var clients []*batchConn
	var peers []net.Conn
	for range n {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		peer, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { peer.Close() })
		b := newBatchConn(conn, 64)
		b.r = bufio.NewReader(b)
		if err := q.add(b); err != nil {
			t.Fatal(err)
		}
		clients = append(clients, b)
		peers = append(peers, peer)
	}
	go q.run()
	return q, clients, peers
}

// The point of the queue: clients whose replies are in are run in the
// order the replies came, where the runtime's poller would run the last
// one first. On one P the order the clients read in is the order they
// were woken in.
func TestReadyQueueWakesInArrivalOrder(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector shuffles the run queue: the order goroutines run in is not the order they were woken in")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const n = 6
	arrival := []int{3, 0, 5, 1, 4, 2}
	for round := range 5 {
		_, clients, peers := waitingClients(t, n)
		var mu sync.Mutex
		var order []int
		var wg sync.WaitGroup
		for i, b := range clients {
			wg.Go(func() {
				if _, err := b.Read(make([]byte, 8)); err != nil {
					t.Errorf("client %d: %v", i, err)
				}
				mu.Lock()
				order = append(order, i)
				mu.Unlock()
			})
		}
		// Long enough for every client to find nothing and wait.
		time.Sleep(50 * time.Millisecond)
		for _, i := range arrival {
			if _, err := peers[i].Write([]byte("+OK\r\n")); err != nil {
				t.Fatal(err)
			}
		}
		wg.Wait()
		if !slices.Equal(order, arrival) {
			t.Fatalf("round %d: clients read in the order %v, their replies came in the order %v", round, order, arrival)
		}
	}
}

// A client waiting on the queue when the run is stopped (its connection
// and the queue closed, as builtinRun.closeAll does) gets the closed
// connection's error instead of waiting for good.
func TestReadyQueueClose(t *testing.T) {
	q, clients, _ := waitingClients(t, 1)
	b := clients[0]
	got := make(chan error, 1)
	go func() {
		_, err := b.Read(make([]byte, 8))
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	b.conn.Close()
	q.close()
	select {
	case err := <-got:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("read after close: %v, want net.ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a client waiting on a closed queue was not woken")
	}
}

// An epoll set that refuses a socket says so (here: the same socket twice,
// EEXIST), instead of leaving its client to wait for wake-ups that cannot
// come.
func TestReadyQueueAddError(t *testing.T) {
	q, clients, _ := waitingClients(t, 1)
	if err := q.add(clients[0]); !errors.Is(err, syscall.EEXIST) {
		t.Errorf("adding a socket twice: %v, want EEXIST", err)
	}
}

// A queue whose epoll set fails under it lets its clients go on in the
// runtime's poller and keeps why, for the run to refuse its figures.
func TestReadyQueueFailureIsKept(t *testing.T) {
	q, clients, peers := waitingClients(t, 1)
	got := make(chan error, 1)
	go func() {
		_, err := clients[0].Read(make([]byte, 8))
		got <- err
	}()
	time.Sleep(50 * time.Millisecond)
	q.epoll.Close() // not q.close: the set goes, the run does not end
	time.Sleep(50 * time.Millisecond)
	if _, err := peers[0].Write([]byte("+OK\r\n")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-got:
		if err != nil {
			t.Errorf("read after the queue failed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a client of a failed queue was not woken")
	}
	if q.failed() == nil {
		t.Error("the queue failed and does not say so")
	}
}
