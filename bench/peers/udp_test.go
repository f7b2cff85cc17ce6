package peers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/socket"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
)

// UDP datagram rate: bsdnet, gVisor's netstack and the kernel in one run.
// One goroutine sends on a connected UDP socket as fast as it can; another
// receives on the bound socket it sends to. Nothing paces the sender: a
// receiver that falls behind finds its buffer full and its stack drops what
// does not fit, as UDP does. The rate reported is what arrived, per second;
// drop% is the share sent that did not.
//
// Two topologies:
//
//	loopback  one stack, 127.0.0.1 to 127.0.0.1 (bsdnet's lo0, a gVisor
//	          stack with a loopback NIC, the kernel's lo)
//	wire      two stacks joined by a perfect 1500-byte-MTU Ethernet link
//	          (bsdnet: NewNetwork and Connect, a link.Wire with no faults;
//	          gVisor: link/pipe ends wrapped in link/ethernet, with ARP).
//	          Both deliver in the sender's goroutine. The kernel has no
//	          in-process equivalent and is not in this topology.

var cred = socket.UserCred(1000, 1000)

// udpPair is one implementation's sender and receiver.
type udpPair interface {
	// send sends one datagram.
	send(p []byte) error
	// recv receives one datagram into p, sleeping while none is queued;
	// after stop, it returns io.EOF once the queue is empty.
	recv(p []byte) (int, error)
	// stop tells recv that the sender is done.
	stop()
	// reset undoes stop, for another run.
	reset()
	close()
}

// udpPayloads are the datagram sizes measured.
var udpPayloads = []int{64, 1400}

// udpPort is where the receivers listen.
const udpPort = 5001

// bsdnetUDP is a pair of bsdnet UDP sockets, driven through socket(9).
type bsdnetUDP struct {
	tx, rx  *socket.Socket
	ctx     context.Context
	cancel  context.CancelFunc
	stopped atomic.Bool
	closers []func()
}

func (u *bsdnetUDP) send(p []byte) error {
	uio := socket.UioBuf(p)
	return u.tx.Send(context.Background(), nil, &uio, nil, nil, 0)
}

func (u *bsdnetUDP) recv(p []byte) (int, error) {
	for {
		uio := socket.UioBuf(p)
		flags := 0
		if u.stopped.Load() {
			flags = socket.MSG_DONTWAIT
		}
		err := u.rx.Receive(u.ctx, nil, &uio, nil, nil, &flags)
		switch {
		case err == nil:
			return len(p) - uio.Resid, nil
		case errors.Is(err, syscall.EINTR) && u.stopped.Load():
			continue // woken by stop: drain without sleeping
		case errors.Is(err, syscall.EWOULDBLOCK) && u.stopped.Load():
			return 0, io.EOF
		}
		return 0, err
	}
}

// stop wakes a sleeping receiver. A bsdnet send runs to completion, so
// whatever was sent is queued (or dropped) by now.
func (u *bsdnetUDP) stop() {
	u.stopped.Store(true)
	u.cancel()
}

func (u *bsdnetUDP) reset() {
	u.stopped.Store(false)
	u.ctx, u.cancel = context.WithCancel(context.Background())
}

func (u *bsdnetUDP) close() {
	u.cancel()
	u.tx.Close()
	u.rx.Close()
	for _, c := range u.closers {
		c()
	}
}

func newBsdnetUDP(tb testing.TB, txStack, rxStack *bsdnet.Stack, dst [4]byte) *bsdnetUDP {
	tb.Helper()
	rx, err := rxStack.Socket(socket.PF_INET, socket.SOCK_DGRAM, 0, cred)
	if err != nil {
		tb.Fatal(err)
	}
	tx, err := txStack.Socket(socket.PF_INET, socket.SOCK_DGRAM, 0, cred)
	if err != nil {
		tb.Fatal(err)
	}
	sa := socket.SockaddrInet4{Port: udpPort, Addr: dst}
	if err := rx.Bind(sa); err != nil {
		tb.Fatalf("bind %v: %v", sa, err)
	}
	if err := tx.Connect(sa); err != nil {
		tb.Fatalf("connect %v: %v", sa, err)
	}
	u := &bsdnetUDP{tx: tx, rx: rx}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	return u
}

func newBsdnetLoopback(tb testing.TB) udpPair {
	st := bsdnet.NewStack()
	u := newBsdnetUDP(tb, st, st, [4]byte{127, 0, 0, 1})
	u.closers = append(u.closers, func() { st.Close() })
	return u
}

func newBsdnetWire(tb testing.TB) udpPair {
	n := bsdnet.NewNetwork(1)
	a, b := n.Host("a"), n.Host("b")
	if _, err := n.Connect(a, "10.0.0.1/24", b, "10.0.0.2/24", link.Faults{}); err != nil {
		n.Close()
		tb.Fatal(err)
	}
	u := newBsdnetUDP(tb, a, b, [4]byte{10, 0, 0, 2})
	u.closers = append(u.closers, func() { n.Close() })
	return u
}

// connUDP is a sender and a receiver that are net.Conns: the kernel's
// net.UDPConn or gVisor's gonet.UDPConn.
type connUDP struct {
	tx, rx  net.Conn
	stopped atomic.Bool
	closers []func()
}

func (c *connUDP) send(p []byte) error {
	_, err := c.tx.Write(p)
	return err
}

// quiet is how long a net.Conn receiver waits, once the sender is done,
// for a datagram still on its way (the kernel may deliver after sendmsg
// returns). The wait is not counted: the rate ends at the last datagram.
const quiet = 20 * time.Millisecond

func (c *connUDP) recv(p []byte) (int, error) {
	n, err := c.rx.Read(p)
	if !c.stopped.Load() {
		return n, err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return 0, io.EOF
	}
	if err == nil {
		c.rx.SetReadDeadline(time.Now().Add(quiet))
	}
	return n, err
}

func (c *connUDP) stop() {
	c.stopped.Store(true)
	c.rx.SetReadDeadline(time.Now().Add(quiet))
}

func (c *connUDP) reset() {
	c.stopped.Store(false)
	c.rx.SetReadDeadline(time.Time{})
}

func (c *connUDP) close() {
	c.tx.Close()
	c.rx.Close()
	for _, f := range c.closers {
		f()
	}
}

func newKernelUDP(tb testing.TB) udpPair {
	tb.Helper()
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		rx.Close()
		tb.Fatal(err)
	}
	return &connUDP{tx: tx, rx: rx}
}

// newGvisorConnUDP binds a gonet receiver on rxStack at dst and connects a
// gonet sender on txStack to it.
func newGvisorConnUDP(tb testing.TB, g *gvisorNet, dst tcpip.Address) *connUDP {
	tb.Helper()
	to := tcpip.FullAddress{Addr: dst, Port: udpPort}
	rx, err := gonet.DialUDP(g.b, &to, nil, ipv4.ProtocolNumber)
	if err != nil {
		g.close()
		tb.Fatal(err)
	}
	tx, err := gonet.DialUDP(g.a, nil, &to, ipv4.ProtocolNumber)
	if err != nil {
		rx.Close()
		g.close()
		tb.Fatal(err)
	}
	return &connUDP{tx: tx, rx: rx, closers: []func(){g.close}}
}

func newGvisorLoopback(tb testing.TB) udpPair {
	return newGvisorConnUDP(tb, newGvisorLoopbackNet(tb), gvLoopbackAddr)
}

func newGvisorWire(tb testing.TB) udpPair {
	return newGvisorConnUDP(tb, newGvisorWireNet(tb), gvWireB)
}

type udpPeer struct {
	name string
	make func(testing.TB) udpPair
}

var udpTopologies = []struct {
	name  string
	peers []udpPeer
}{
	{"loopback", []udpPeer{
		{"bsdnet", newBsdnetLoopback},
		{"gvisor", newGvisorLoopback},
		{"kernel", newKernelUDP},
	}},
	{"wire", []udpPeer{
		{"bsdnet", newBsdnetWire},
		{"gvisor", newGvisorWire},
	}},
}

// udpResult is what a run of the UDP workload measured.
type udpResult struct {
	sent, refused, received int
	elapsed                 time.Duration // first send to the last arrival (or the last send, if later)
}

func (r udpResult) rate() float64 { return float64(r.received) / r.elapsed.Seconds() }

func (r udpResult) dropPct() float64 {
	if r.sent == 0 {
		return 0
	}
	return 100 * float64(r.sent-r.received) / float64(r.sent)
}

// udpWorkload sends n datagrams of size bytes over u from a new goroutine
// and receives what arrives. Each datagram carries its sequence number in
// its first 4 bytes; with check, the receiver verifies the size, that
// sequence numbers only go up, and the rest of the payload. A send refused
// with ENOBUFS counts as a drop.
func udpWorkload(u udpPair, n, size int, check bool) (udpResult, error) {
	var res udpResult
	sendDone := make(chan error, 1)
	var sendEnd time.Time
	var sending atomic.Bool // the sender is still going
	sending.Store(true)
	start := time.Now()
	go func() {
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = byte(i)
		}
		refused := 0
		var err error
		for i := range n {
			putSeq(buf, uint32(i))
			if e := u.send(buf); e != nil {
				if !errors.Is(e, syscall.ENOBUFS) {
					err = fmt.Errorf("send %d: %w", i, e)
					break
				}
				refused++
			}
		}
		res.refused = refused
		sendEnd = time.Now()
		sending.Store(false)
		u.stop()
		sendDone <- err
	}()
	buf := make([]byte, size+64)
	var last time.Time
	next := -1
	var rerr error
recv:
	for {
		k, err := u.recv(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			rerr = fmt.Errorf("receive after %d: %w", res.received, err)
			break
		}
		if !sending.Load() {
			// Reading the clock for every datagram would slow the
			// receiver; the end is the sender's end or later.
			last = time.Now()
		}
		res.received++
		if !check {
			continue
		}
		if k != size {
			rerr = fmt.Errorf("datagram %d: %d bytes, want %d", res.received, k, size)
			break
		}
		seq := int(getSeq(buf))
		if seq <= next || seq >= n {
			rerr = fmt.Errorf("datagram %d: sequence %d after %d", res.received, seq, next)
			break
		}
		next = seq
		for j := 4; j < k; j++ {
			if buf[j] != byte(j) {
				rerr = fmt.Errorf("datagram %d: byte %d is %d", seq, j, buf[j])
				break recv
			}
		}
	}
	serr := <-sendDone
	if rerr != nil {
		return res, rerr
	}
	if serr != nil {
		return res, serr
	}
	end := last
	if sendEnd.After(end) {
		end = sendEnd
	}
	res.sent = n
	res.elapsed = end.Sub(start)
	return res, nil
}

func putSeq(b []byte, s uint32) {
	b[0], b[1], b[2], b[3] = byte(s>>24), byte(s>>16), byte(s>>8), byte(s)
}

func getSeq(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// udpWarmup sends single datagrams until one arrives, so that address
// resolution and first-use costs fall outside the measurement.
func udpWarmup(tb testing.TB, u udpPair, size int) {
	tb.Helper()
	for range 10 {
		res, err := udpWorkload(u, 1, size, true)
		if err != nil {
			tb.Fatalf("warm-up: %v", err)
		}
		u.reset()
		if res.received == 1 {
			return
		}
	}
	tb.Fatal("warm-up: no datagram arrived")
}

// BenchmarkUDP: one op is one datagram sent. dgrams/s is the rate at which
// datagrams arrived; drop% is the share that did not.
func BenchmarkUDP(b *testing.B) {
	for _, topo := range udpTopologies {
		for _, size := range udpPayloads {
			for _, p := range topo.peers {
				b.Run(fmt.Sprintf("%s/%dB/%s", topo.name, size, p.name), func(b *testing.B) {
					u := p.make(b)
					defer u.close()
					udpWarmup(b, u, size)
					b.SetBytes(int64(size))
					b.ReportAllocs()
					b.ResetTimer()
					res, err := udpWorkload(u, b.N, size, false)
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					b.ReportMetric(res.rate(), "dgrams/s")
					b.ReportMetric(res.dropPct(), "drop%")
				})
			}
		}
	}
}

// TestUDPWorkloads runs every UDP workload briefly with its data checked.
func TestUDPWorkloads(t *testing.T) {
	for _, topo := range udpTopologies {
		for _, size := range udpPayloads {
			for _, p := range topo.peers {
				t.Run(fmt.Sprintf("%s/%dB/%s", topo.name, size, p.name), func(t *testing.T) {
					u := p.make(t)
					defer u.close()
					udpWarmup(t, u, size)
					res, err := udpWorkload(u, 2000, size, true)
					if err != nil {
						t.Fatal(err)
					}
					if res.received == 0 {
						t.Fatalf("none of %d datagrams arrived", res.sent)
					}
					t.Logf("%d of %d received (%d refused), %.0f dgrams/s",
						res.received, res.sent, res.refused, res.rate())
				})
			}
		}
	}
}
