package peers

import (
	"flag"
	"fmt"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// Many concurrent connections in one process: open them all over loopback
// (each a dial and an accept), keep them open, carry one byte each way on
// every one of them, then close them all. The client side sends on every
// connection before the server side reads any, so every connection has
// data (and its acknowledgment timers) in flight at once.

var manyConns = flag.Int("manyconns", 100000, "connections of BenchmarkTCPManyConns")

// manyPorts is how many listening ports the connections spread over: one
// client address has one ephemeral range (about 55,000 ports in bsdnet,
// 49,000 in gVisor) per destination.
const manyPorts = 4

// manyResult is what a run of the workload measured.
type manyResult struct {
	open, round, close time.Duration
	heapPerPair        float64 // Go heap per open pair, after a collection
	goroutinesPerPair  float64
}

// manyConnsRun opens count pairs on n, runs a round of one byte each way
// on each, and closes them.
func manyConnsRun(n *tcpNet, count int) (manyResult, error) {
	var r manyResult
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range manyPorts {
		l, err := n.listen(0)
		if err != nil {
			return r, fmt.Errorf("listen: %w", err)
		}
		ls = append(ls, l)
	}
	cs := make([]net.Conn, 0, count)
	ss := make([]net.Conn, 0, count)
	closeAll := func() {
		for i := range cs {
			cs[i].Close()
		}
		for i := range ss {
			ss[i].Close()
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()

	start := time.Now()
	for i := range count {
		l := ls[i%manyPorts]
		c, err := n.dial(l)
		if err != nil {
			closeAll()
			return r, fmt.Errorf("dial %d: %w", i, err)
		}
		cs = append(cs, c)
		s, err := l.Accept()
		if err != nil {
			closeAll()
			return r, fmt.Errorf("accept %d: %w", i, err)
		}
		ss = append(ss, s)
	}
	r.open = time.Since(start)
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	r.heapPerPair = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(count)
	r.goroutinesPerPair = float64(runtime.NumGoroutine()-g0) / float64(count)

	start = time.Now()
	err := manyRound(cs, ss)
	r.round = time.Since(start)
	if err != nil {
		closeAll()
		return r, err
	}

	start = time.Now()
	closeAll()
	r.close = time.Since(start)
	return r, nil
}

// manyRound sends a byte on every client, then echoes it on every server,
// then reads every echo. Byte i%251 travels on connection i.
func manyRound(cs, ss []net.Conn) error {
	var b [1]byte
	for i, c := range cs {
		b[0] = byte(i % 251)
		if _, err := c.Write(b[:]); err != nil {
			return fmt.Errorf("client write %d: %w", i, err)
		}
	}
	for i, s := range ss {
		if _, err := io.ReadFull(s, b[:]); err != nil || b[0] != byte(i%251) {
			return fmt.Errorf("server read %d: %d, %v", i, b[0], err)
		}
		if _, err := s.Write(b[:]); err != nil {
			return fmt.Errorf("server write %d: %w", i, err)
		}
	}
	for i, c := range cs {
		if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != byte(i%251) {
			return fmt.Errorf("client read %d: %d, %v", i, b[0], err)
		}
	}
	return nil
}

// tcpManyNets are the peers of the many-connections run. The kernel is
// left out: RLIMIT_NOFILE (20,000 here) caps it far below.
var tcpManyNets = []tcpNetPeer{
	{"bsdnet", newBsdnetLoopbackTCP},
	{"gvisor", newGvisorLoopbackTCP},
}

// BenchmarkTCPManyConns: -manyconns (100,000) connections open at once in
// one process. One op is the whole run, so run it with -benchtime 1x. It
// reports the seconds to open them all (open-s), to carry a byte each way
// on each (round-s) and to close them (close-s), the Go heap per open pair
// (B/pair) and goroutines per pair.
func BenchmarkTCPManyConns(b *testing.B) {
	for _, p := range tcpManyNets {
		b.Run(p.name, func(b *testing.B) {
			var sum manyResult
			for range b.N {
				n := p.make(b)
				r, err := manyConnsRun(n, *manyConns)
				n.close()
				if err != nil {
					b.Fatal(err)
				}
				sum.open += r.open
				sum.round += r.round
				sum.close += r.close
				sum.heapPerPair += r.heapPerPair
				sum.goroutinesPerPair += r.goroutinesPerPair
			}
			k := float64(b.N)
			b.ReportMetric(sum.open.Seconds()/k, "open-s")
			b.ReportMetric(sum.round.Seconds()/k, "round-s")
			b.ReportMetric(sum.close.Seconds()/k, "close-s")
			b.ReportMetric(sum.heapPerPair/k, "B/pair")
			b.ReportMetric(sum.goroutinesPerPair/k, "goroutines/pair")
		})
	}
}

// TestTCPManyConns runs the many-connections workload at a small scale.
func TestTCPManyConns(t *testing.T) {
	for _, p := range tcpManyNets {
		t.Run(p.name, func(t *testing.T) {
			n := p.make(t)
			defer n.close()
			r, err := manyConnsRun(n, 2000)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", r)
		})
	}
}
