package inet

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// delayCable makes c deliver every frame d late, in order.
func delayCable(c *cable, d time.Duration) {
	var mu sync.Mutex
	var q [2][][]byte
	var dmu [2]sync.Mutex
	c.setHook(func(from int, frame []byte) bool {
		mu.Lock()
		q[from] = append(q[from], append([]byte(nil), frame...))
		mu.Unlock()
		time.AfterFunc(d, func() {
			dmu[from].Lock()
			defer dmu[from].Unlock()
			mu.Lock()
			f := q[from][0]
			q[from] = q[from][1:]
			mu.Unlock()
			peer := c.ends[1-from]
			peer.Input(peer.Pool.CopyIn(0, f, 0))
		})
		return false
	})
}

// TestTCPBufferAutosizing moves 8 MiB across a path with a 20 ms round
// trip: with automatic sizing both buffers grow past their defaults and
// the transfer is several times faster than with fixed 64 KiB/32 KiB
// buffers, whose window caps it at one buffer per round trip.
func TestTCPBufferAutosizing(t *testing.T) {
	var took [2]time.Duration
	for i, auto := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			a, b, c := pair(t, 1500)
			for _, h := range []*host{a, b} {
				h.s.TCPTunables().AutoRcvBuf = auto
				h.s.TCPTunables().AutoSndBuf = auto
			}
			delayCable(c, 10*time.Millisecond)
			cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
			start := time.Now()
			transfer(t, cli, srv, 8<<20, 1)
			took[i] = time.Since(start)
			rcv, snd := srv.Rcv.Hiwat(), cli.Snd.Hiwat()
			t.Logf("auto=%v: %v (%.1f MB/s), receive buffer %d, send buffer %d", auto, took[i],
				float64(8<<20)/took[i].Seconds()/1e6, rcv, snd)
			if auto && (rcv <= 65536 || snd <= 32768) {
				t.Errorf("buffers did not grow: receive %d send %d", rcv, snd)
			}
			if !auto && (rcv != 65536 || snd != 32768) {
				t.Errorf("fixed buffers changed: receive %d send %d", rcv, snd)
			}
		})
	}
	if took[1]*3 > took[0] {
		t.Errorf("autosizing took %v against %v fixed: want at least 3x faster", took[1], took[0])
	}
}
