package inet

import (
	"runtime"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/socket"
)

// closeFirst makes n connections from a to b's listener and closes each,
// a first, so that a holds n connections in TIME_WAIT.
func closeFirst(tb testing.TB, a *host, ls *socket.Socket, addr string, n int) {
	for range n {
		// Sockets made without the helpers, whose cleanups would keep
		// them reachable.
		cli, err := a.v.Create(socket.AF_INET, socket.SOCK_STREAM, 0, socket.RootCred())
		if err != nil {
			tb.Fatal(err)
		}
		if err := cli.Connect(sa(addr)); err != nil {
			tb.Fatal(err)
		}
		if err := cli.WaitConnected(bg); err != nil {
			tb.Fatal(err)
		}
		srv, err := ls.ListenDequeue(bg, 0)
		if err != nil {
			tb.Fatal(err)
		}
		cli.Close()
		srv.Close()
	}
}

// TestTCPCompactTimeWait: once its socket is closed, a connection in
// TIME_WAIT is a small tcptw in the table (no socket, no control block),
// answers as TIME_WAIT does, keeps its port from plain binds, and goes
// after 2·MSL.
func TestTCPCompactTimeWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, c := pair(t, 1500)
		ls := b.tcpListen("10.0.0.2:80", 64)
		const n = 20
		closeFirst(t, a, ls, "10.0.0.2:80", n)
		synctest.Wait()
		st := &a.s.Stats.TCP
		if got := a.s.TCPConnections(); got != n || st.TWCompact.Load() != n {
			t.Fatalf("%d connections, %d compact, want %d in compact TIME_WAIT", got, st.TWCompact.Load(), n)
		}
		var tws []*inpcb
		a.s.tcp.pcbs.mu.RLock()
		for _, l := range a.s.tcp.pcbs.ports {
			for _, p := range l {
				if p.tw != nil && p.so == nil {
					tws = append(tws, p)
				}
			}
		}
		a.s.tcp.pcbs.mu.RUnlock()
		if len(tws) != n {
			t.Fatalf("%d compact blocks in the table, want %d", len(tws), n)
		}
		// A retransmitted FIN is acknowledged; a RST changes nothing.
		p := tws[0]
		sn := &sniffer{}
		c.setHook(sn.hook)
		inject(c, p.fport, p.lport, uint32(p.tw.rcvNxt-1), uint32(p.tw.sndNxt), header.TCPFlagFin|header.TCPFlagAck, 1000, nil)
		if g := sn.last(0); g == nil || g.Flags() != header.TCPFlagAck || g.Ack() != uint32(p.tw.rcvNxt) || g.Seq() != uint32(p.tw.sndNxt) {
			t.Fatalf("answer to a retransmitted FIN: %v", g)
		}
		inject(c, p.fport, p.lport, uint32(p.tw.rcvNxt), 0, header.TCPFlagRst, 0, nil)
		if a.s.TCPConnections() != n {
			t.Fatal("a RST ended a TIME_WAIT (RFC 1337)")
		}
		// The local port stays taken for a plain bind.
		so := a.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
		if err := so.Bind(sa("10.0.0.1:" + itoa(int(p.lport)))); err == nil {
			t.Error("bind to a TIME_WAIT's port succeeded without SO_REUSEADDR")
		}
		so.Close()
		time.Sleep(2*a.s.TCPTunables().MSL + time.Second)
		if got := a.s.TCPConnections(); got != 0 {
			t.Errorf("%d connections after 2·MSL", got)
		}
	})
}

// BenchmarkTCPTimeWaitHeap reports the heap a connection in TIME_WAIT
// costs once its socket is closed, both stacks' share (target: under
// 1 KiB; an established pair costs several).
func BenchmarkTCPTimeWaitHeap(b *testing.B) {
	const n = 2000
	var per float64
	for range b.N {
		a, bh, _ := pair(b, 1500)
		ls := bh.tcpListen("10.0.0.2:80", n)
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		closeFirst(b, a, ls, "10.0.0.2:80", n)
		runtime.GC()
		runtime.ReadMemStats(&m1)
		if a.s.TCPConnections() != n {
			b.Fatalf("%d connections in TIME_WAIT, want %d", a.s.TCPConnections(), n)
		}
		per = float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / n
		a.v.Close()
		a.s.Close()
		bh.v.Close()
		bh.s.Close()
	}
	b.ReportMetric(per, "B/timewait")
}
