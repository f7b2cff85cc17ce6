package inet

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/socket"
)

// TestTCPIdleRestart: after an idle period longer than the RTO a
// sender starts again from the restart window, at most the initial window
// (RFC 5681 4.1; RFC 7661 3 for a validated cwnd, FreeBSD's
// net.inet.tcp.newcwv), instead of sending a whole large cwnd in one burst.
func TestTCPIdleRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		h.established()
		if err := h.so.SetOptInt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1<<20); err != nil {
			t.Fatal(err)
		}
		// Grow cwnd past the initial window: the peer acknowledges all
		// that arrives, round after round.
		const chunk = 200000
		for round := range 8 {
			if n, err := write(h.so, make([]byte, chunk), socket.MSG_DONTWAIT); n != chunk {
				t.Fatalf("write %d: %v", n, err)
			}
			end := h.rcv + chunk
			for i := 0; h.rcv != end; i++ {
				if i > 10000 {
					t.Fatalf("round %d: stuck at %d of %d", round, h.rcv, end)
				}
				for _, g := range h.sent() {
					if g.Flags()&fRST != 0 {
						t.Fatalf("reset: %v", g)
					}
					if e := g.Seq() + uint32(len(g.Payload())); int32(e-h.rcv) > 0 {
						h.rcv = e
					}
				}
				h.peerACK()
				time.Sleep(time.Millisecond)
			}
		}
		var info [TCPInfoLen]byte
		sopt := socket.Sockopt{Level: IPPROTO_TCP, Name: TCP_INFO, Val: info[:], Valsize: len(info)}
		h.so.GetOpt(&sopt)
		iw := h.a.s.TCPTunables().InitCwndSegs
		if ti, _ := ParseTCPInfo(info[:]); ti.SndCwnd < uint32(2*iw*1460) {
			t.Fatalf("cwnd %d did not grow past twice the initial window", ti.SndCwnd)
		}
		time.Sleep(10 * time.Second) // idle, far beyond the RTO
		h.sent()
		write(h.so, make([]byte, chunk), socket.MSG_DONTWAIT)
		if got := len(h.sent()); got > iw {
			t.Errorf("%d segments sent at once after idling, want at most the initial window of %d", got, iw)
		}
	})
}
