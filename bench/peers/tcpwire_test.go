package peers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/link"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
)

// TCP beyond one loopback stream: bulk transfer between two stacks over a
// 1500-byte-MTU wire, the connection rate, the footprint of idle
// connections, and goodput over a slow, lossy wire. Each runs bsdnet and
// gVisor's netstack, and the kernel where an in-process equivalent exists.

// tcpNet is one implementation's TCP between two hosts (the same host over
// loopback): listen on the server side, dial from the client side.
type tcpNet struct {
	// listen listens on the server host at port (0: any free port).
	listen func(port int) (net.Listener, error)
	// dial connects from the client host to l, giving up after
	// dialTimeout.
	dial  func(l net.Listener) (net.Conn, error)
	close func()
}

// dialTimeout bounds every dial, so that a connection that cannot open
// fails its benchmark instead of stalling the run. It leaves room for a
// SYN lost and sent again twice on the lossy wire (1 s, then 2 s more).
const dialTimeout = 15 * time.Second

// dialCtx is a context for one dial.
func dialCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), dialTimeout)
}

// tcpNetPeer makes a tcpNet of one implementation.
type tcpNetPeer struct {
	name string
	make func(tb testing.TB) *tcpNet
}

// bsdnetTCPNet is TCP between cli and srv, through bsdnet's net adapters;
// srvAddr is srv's address.
func bsdnetTCPNet(cli, srv *bsdnet.Stack, srvAddr string, closer func()) *tcpNet {
	return &tcpNet{
		listen: func(port int) (net.Listener, error) {
			return srv.Listen("tcp4", fmt.Sprintf("%s:%d", srvAddr, port))
		},
		dial: func(l net.Listener) (net.Conn, error) {
			ctx, cancel := dialCtx()
			defer cancel()
			return cli.DialContext(ctx, "tcp4", l.Addr().String())
		},
		close: closer,
	}
}

func newBsdnetLoopbackTCP(tb testing.TB) *tcpNet {
	st := bsdnet.NewStack()
	return bsdnetTCPNet(st, st, "127.0.0.1", func() { st.Close() })
}

// newBsdnetWireTCP is two bsdnet stacks, 10.0.0.1 (client) and 10.0.0.2
// (server), joined by a link.Wire made with seed and carrying f both ways.
func newBsdnetWireTCP(tb testing.TB, seed uint64, f link.Faults) *tcpNet {
	a, b := bsdnet.NewStack(bsdnet.WithName("a")), bsdnet.NewStack(bsdnet.WithName("b"))
	w := link.NewWire(link.WireConfig{Seed: seed})
	w.SetFaults(link.Both, f)
	ea, eb := w.Ends()
	closer := func() {
		w.Close()
		a.Close()
		b.Close()
	}
	if err := a.AddInterface(ea, "10.0.0.1/24"); err != nil {
		closer()
		tb.Fatal(err)
	}
	if err := b.AddInterface(eb, "10.0.0.2/24"); err != nil {
		closer()
		tb.Fatal(err)
	}
	return bsdnetTCPNet(a, b, "10.0.0.2", closer)
}

// gvisorTCPNet is TCP from g.a to g.b (the same stack over loopback)
// through gonet; srv is g.b's address.
func gvisorTCPNet(g *gvisorNet, srv tcpip.Address) *tcpNet {
	return &tcpNet{
		listen: func(port int) (net.Listener, error) {
			return gonet.ListenTCP(g.b, tcpip.FullAddress{NIC: 1, Addr: srv, Port: uint16(port)}, ipv4.ProtocolNumber)
		},
		dial: func(l net.Listener) (net.Conn, error) {
			port := l.Addr().(*net.TCPAddr).Port
			ctx, cancel := dialCtx()
			defer cancel()
			return gonet.DialContextTCP(ctx, g.a, tcpip.FullAddress{NIC: 1, Addr: srv, Port: uint16(port)}, ipv4.ProtocolNumber)
		},
		close: g.close,
	}
}

func newGvisorLoopbackTCP(tb testing.TB) *tcpNet {
	return gvisorTCPNet(newGvisorLoopbackNet(tb), gvLoopbackAddr)
}

func newKernelLoopbackTCP(tb testing.TB) *tcpNet {
	return &tcpNet{
		listen: func(port int) (net.Listener, error) {
			return net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		},
		dial: func(l net.Listener) (net.Conn, error) {
			return net.DialTimeout("tcp4", l.Addr().String(), dialTimeout)
		},
		close: func() {},
	}
}

// tcpLoopbackNets are the peers over one stack's loopback.
var tcpLoopbackNets = []tcpNetPeer{
	{"bsdnet", newBsdnetLoopbackTCP},
	{"gvisor", newGvisorLoopbackTCP},
	{"kernel", newKernelLoopbackTCP},
}

// tcpWireNets are the peers between two stacks over a perfect
// 1500-byte-MTU Ethernet wire: bsdnet's link.Wire, and gVisor's own
// in-memory link (link/pipe in link/ethernet). The kernel has no
// in-process equivalent.
var tcpWireNets = []tcpNetPeer{
	{"bsdnet", func(tb testing.TB) *tcpNet { return newBsdnetWireTCP(tb, 1, link.Faults{}) }},
	{"gvisor", func(tb testing.TB) *tcpNet { return gvisorTCPNet(newGvisorWireNet(tb), gvWireB) }},
}

// tcpNetPair listens on n's server side, dials it, and returns the
// connected pair; the listener is closed.
func tcpNetPair(tb testing.TB, n *tcpNet) (c, s net.Conn) {
	tb.Helper()
	l, err := n.listen(5002)
	if err != nil {
		tb.Fatalf("listen: %v", err)
	}
	return connectPair(tb, l, func() (net.Conn, error) { return n.dial(l) })
}

// BenchmarkTCPWire: 64 KiB writes from one stack to another over a perfect
// 1500-byte-MTU Ethernet wire, one goroutine writing and one reading.
func BenchmarkTCPWire(b *testing.B) {
	for _, p := range tcpWireNets {
		b.Run(p.name, func(b *testing.B) {
			n := p.make(b)
			b.Cleanup(n.close) // after the conns' cleanup
			c, s := tcpNetPair(b, n)
			b.SetBytes(tcpChunk)
			b.ReportAllocs()
			b.ResetTimer()
			if err := tcpStream(c, s, b.N, false); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// Connection rate. One connection is a dial, an accept, and a close on
// both sides. The server closes first, as an HTTP/1.0 server does, so
// TIME_WAIT falls on the server side and the client's ephemeral ports come
// free at once; a new connection may still meet an old one's TIME_WAIT at
// the server when the client picks a port again.

// connCycle makes one connection in one goroutine: dial, accept, close
// the server's end, close the client's.
func connCycle(n *tcpNet, l net.Listener) error {
	c, err := n.dial(l)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	s, err := l.Accept()
	if err != nil {
		c.Close()
		return fmt.Errorf("accept: %w", err)
	}
	s.Close()
	return c.Close()
}

// connSequential makes count connections one after another.
func connSequential(n *tcpNet, l net.Listener, count int) error {
	for i := range count {
		if err := connCycle(n, l); err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
	}
	return nil
}

// connConcurrent makes count connections from clients goroutines at once.
// A client dials, waits for the server's close (EOF) and closes; one
// server goroutine accepts and closes each connection at once, as an
// accept loop does.
func connConcurrent(n *tcpNet, l net.Listener, count, clients int) error {
	srvErr := make(chan error, 1)
	go func() {
		for range count {
			s, err := l.Accept()
			if err != nil {
				srvErr <- fmt.Errorf("accept: %w", err)
				return
			}
			s.Close()
		}
		srvErr <- nil
	}()
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range clients {
		wg.Go(func() {
			var b [1]byte
			for next.Add(1) <= int64(count) {
				c, err := n.dial(l)
				if err == nil {
					if _, err = c.Read(b[:]); err == io.EOF {
						err = nil
					} else if err == nil {
						err = errors.New("read data, want EOF")
					}
					if e := c.Close(); err == nil {
						err = e
					}
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("client: %w", err)
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if first != nil {
		l.Close() // unblocks the server
		<-srvErr
		return first
	}
	return <-srvErr
}

// connClients is the number of concurrent clients of the connection-rate
// run.
const connClients = 8

// connRun is one shape of the connection-rate workload.
var connRuns = []struct {
	name string
	run  func(n *tcpNet, l net.Listener, count int) error
}{
	{"sequential", connSequential},
	{fmt.Sprintf("concurrent%d", connClients), func(n *tcpNet, l net.Listener, count int) error {
		return connConcurrent(n, l, count, connClients)
	}},
}

// BenchmarkTCPConnRate: one op is one connection over loopback (dial,
// accept, close both ends); conns/s is the rate.
func BenchmarkTCPConnRate(b *testing.B) {
	for _, r := range connRuns {
		for _, p := range tcpLoopbackNets {
			b.Run(r.name+"/"+p.name, func(b *testing.B) {
				n := p.make(b)
				defer n.close()
				l, err := n.listen(0)
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				b.ReportAllocs()
				b.ResetTimer()
				if err := r.run(n, l, b.N); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
			})
		}
	}
}

// Footprint of idle connections: the Go heap held by each established
// pair that exchanged a byte each way and went quiet, and the goroutines
// it keeps. For the kernel only the Go side (net.TCPConn, the poller's
// descriptors) is on the heap; its own memory is not counted.

// idleTCPPairs are the sizes of the idle runs. The kernel run is smaller:
// each socket is a descriptor and RLIMIT_NOFILE may be 20000.
var idleTCPPairs = map[string]int{"bsdnet": 10000, "gvisor": 10000, "kernel": 5000}

// tcpIdleFootprint opens count pairs on n, exchanges a byte each way on
// each, and returns the heap bytes and goroutines per pair that are live
// after a collection.
func tcpIdleFootprint(n *tcpNet, count int) (heapPerPair, goroutinesPerPair float64, err error) {
	l, err := n.listen(0)
	if err != nil {
		return 0, 0, err
	}
	defer l.Close()
	held := make([]net.Conn, 0, 2*count)
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	var before, after runtime.MemStats
	// Two collections: the first moves sync.Pool contents to the victim
	// cache, the second frees them.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	for i := range count {
		c, err := n.dial(l)
		if err != nil {
			return 0, 0, fmt.Errorf("dial %d: %w", i, err)
		}
		held = append(held, c)
		s, err := l.Accept()
		if err != nil {
			return 0, 0, fmt.Errorf("accept %d: %w", i, err)
		}
		held = append(held, s)
		if err := exchange(c, s); err != nil {
			return 0, 0, fmt.Errorf("pair %d: %w", i, err)
		}
	}
	// Let delayed ACKs and window updates go out before measuring.
	time.Sleep(300 * time.Millisecond)
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	heap := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(count)
	return heap, float64(g1-g0) / float64(count), nil
}

// exchange sends a byte each way over a fresh connection.
func exchange(c, s net.Conn) error {
	var buf [1]byte
	for _, d := range [][2]net.Conn{{c, s}, {s, c}} {
		if _, err := d[0].Write([]byte{'x'}); err != nil {
			return err
		}
		if k, err := io.ReadFull(d[1], buf[:]); err != nil || buf[0] != 'x' {
			return fmt.Errorf("exchange: %d bytes %q, %v", k, buf[:k], err)
		}
	}
	return nil
}

// BenchmarkTCPIdlePairs: the Go heap per idle established pair over
// loopback (B/pair) and the goroutines each pair keeps. One op opens,
// measures and closes a whole batch.
func BenchmarkTCPIdlePairs(b *testing.B) {
	for _, p := range tcpLoopbackNets {
		b.Run(p.name, func(b *testing.B) {
			var heap, g float64
			for range b.N {
				n := p.make(b)
				h, gs, err := tcpIdleFootprint(n, idleTCPPairs[p.name])
				n.close()
				if err != nil {
					b.Fatal(err)
				}
				heap += h
				g += gs
			}
			b.ReportMetric(heap/float64(b.N), "B/pair")
			b.ReportMetric(g/float64(b.N), "goroutines/pair")
		})
	}
}

// Goodput over a slow, lossy wire: 10 ms each way and 1% of frames lost
// in each direction. bsdnet and gVisor cross the same wire model, bsdnet's
// link.Wire (gVisor through ifnetEndpoint), with the same seeds, so both
// meet the same sequence of loss decisions.

// lossyFaults are the wire's faults, each way.
var lossyFaults = link.Faults{Delay: 10 * time.Millisecond, Loss: 0.01}

// lossyBytes is the size of one transfer, and lossySeeds the number of
// wire seeds (loss patterns) one benchmark op goes through, a transfer
// each.
const (
	lossyBytes = 4 << 20
	lossySeeds = 3
)

var tcpLossyNets = []struct {
	name string
	make func(tb testing.TB, seed uint64) *tcpNet
}{
	{"bsdnet", func(tb testing.TB, seed uint64) *tcpNet { return newBsdnetWireTCP(tb, seed, lossyFaults) }},
	{"gvisor", func(tb testing.TB, seed uint64) *tcpNet {
		return gvisorTCPNet(newGvisorFaultNet(tb, seed, lossyFaults), gvWireB)
	}},
}

// lossyTransfer connects over a new lossy wire made with seed and sends
// size bytes, checked; it returns the time from the first write to the
// last byte read (the handshake is not counted).
func lossyTransfer(tb testing.TB, mk func(testing.TB, uint64) *tcpNet, seed uint64, size int) (time.Duration, error) {
	n := mk(tb, seed)
	defer n.close()
	l, err := n.listen(5002)
	if err != nil {
		return 0, err
	}
	type acc struct {
		c   net.Conn
		err error
	}
	ch := make(chan acc, 1)
	go func() {
		s, err := l.Accept()
		ch <- acc{s, err}
	}()
	c, err := n.dial(l)
	if err != nil {
		l.Close()
		return 0, fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	a := <-ch
	l.Close()
	if a.err != nil {
		return 0, fmt.Errorf("accept: %w", a.err)
	}
	defer a.c.Close()
	start := time.Now()
	if err := tcpStream(c, a.c, size/tcpChunk, true); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// BenchmarkTCPLossy: one op is three 4 MiB transfers, each on a new
// connection over a new wire with 10 ms delay and 1% loss each way, made
// with seeds 1, 2 and 3 (then 4, 5, 6 in the next op, and so on) for both
// peers. goodput-MB/s is the bytes moved over the time they took.
func BenchmarkTCPLossy(b *testing.B) {
	for _, p := range tcpLossyNets {
		b.Run(p.name, func(b *testing.B) {
			var total time.Duration
			for i := range b.N * lossySeeds {
				d, err := lossyTransfer(b, p.make, uint64(i+1), lossyBytes)
				if err != nil {
					b.Fatalf("seed %d: %v", i+1, err)
				}
				total += d
			}
			b.ReportMetric(float64(b.N*lossySeeds)*lossyBytes/1e6/total.Seconds(), "goodput-MB/s")
		})
	}
}

// TestTCPNetWorkloads runs the workloads above briefly, checked.
func TestTCPNetWorkloads(t *testing.T) {
	for _, p := range tcpWireNets {
		t.Run("wire/"+p.name, func(t *testing.T) {
			n := p.make(t)
			t.Cleanup(n.close)
			c, s := tcpNetPair(t, n)
			if err := tcpStream(c, s, 50, true); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, r := range connRuns {
		for _, p := range tcpLoopbackNets {
			t.Run(r.name+"/"+p.name, func(t *testing.T) {
				n := p.make(t)
				defer n.close()
				l, err := n.listen(0)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				if err := r.run(n, l, 200); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	for _, p := range tcpLoopbackNets {
		t.Run("idle/"+p.name, func(t *testing.T) {
			n := p.make(t)
			defer n.close()
			h, g, err := tcpIdleFootprint(n, 100)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%.0f B and %.2f goroutines per pair", h, g)
		})
	}
	for _, p := range tcpLossyNets {
		t.Run("lossy/"+p.name, func(t *testing.T) {
			d, err := lossyTransfer(t, p.make, 1, 256<<10)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("256 KiB in %v", d)
		})
	}
}
