package inet

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/header"
)

// TestStackClose leaves a connection in TIME_WAIT, one closing with data
// the peer will not take, a SYN cache entry and a neighbour entry, then
// closes the stack: every block goes at once, and a packet arriving after
// gets no answer.
func TestStackClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, c := pair(t, 1500)
		// TIME_WAIT on a: a closes first.
		cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
		cli.Close()
		srv.Close()
		time.Sleep(time.Second)
		// A connection closing with unacknowledged data: b stops answering.
		cli2, srv2 := tcpConn(t, a, b, "10.0.0.2:81")
		c.setHook(func(from int, _ []byte) bool { return from == 0 })
		write(cli2, make([]byte, 4000), 0)
		cli2.Close()
		_ = srv2
		// A SYN cache entry on a.
		a.tcpListen("10.0.0.1:90", 5)
		c.setHook(func(from int, _ []byte) bool { return from == 1 })
		injectOpts(c, 5555, 90, 1, 0, header.TCPFlagSyn, 65535, nil, nil)
		if a.s.TCPConnections() < 2 || a.s.SyncacheLen() != 1 {
			t.Fatalf("before Close: %d connections, %d cache entries", a.s.TCPConnections(), a.s.SyncacheLen())
		}
		a.v.Close()
		a.s.Close()
		if n := a.s.TCPConnections(); n != 0 {
			t.Errorf("%d TCP blocks after Close", n)
		}
		if a.s.SyncacheLen() != 0 {
			t.Errorf("SYN cache entries after Close")
		}
		sn := &sniffer{}
		c.setHook(sn.hook)
		inject(c, 5556, 90, 1, 0, header.TCPFlagSyn, 65535, nil)
		time.Sleep(time.Hour)
		if sn.count(0) != 0 {
			t.Errorf("a closed stack answered %d segments", sn.count(0))
		}
	})
}
