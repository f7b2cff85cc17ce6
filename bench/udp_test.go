package bench

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
)

// UDP datagram rate against the kernel's UDP. One goroutine sends on a
// connected UDP socket as fast as it can; another receives on the bound
// socket it sends to. Nothing paces the sender: a receiver that falls
// behind finds its buffer full and the stack drops what does not fit (as
// UDP does), and a sender may be refused with ENOBUFS. Both count as drops;
// the rate reported is what was received, per second.

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

// bsdnetUDP is a pair of bsdnet UDP sockets, on one stack or two.
type bsdnetUDP struct {
	tx, rx  *socket.Socket
	rxStack *bsdnet.Stack
	ctx     context.Context
	cancel  context.CancelFunc
	stopped atomic.Bool
	closers []func()
}

func (u *bsdnetUDP) send(p []byte) error {
	uio := socket.UioBuf(p)
	return u.tx.Send(bg, nil, &uio, nil, nil, 0)
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
			// Woken by stop: drain what is queued without sleeping.
			continue
		case errors.Is(err, syscall.EWOULDBLOCK) && u.stopped.Load():
			return 0, io.EOF
		}
		return 0, err
	}
}

// stop wakes a sleeping receiver. A bsdnet send runs to completion (the
// datagram is in the receiver's buffer, or dropped, when send returns), so
// everything sent is queued by now and recv drains it without sleeping.
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

// newBsdnetUDP binds rx on rxStack at dst and connects tx on txStack to it.
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
	u := &bsdnetUDP{tx: tx, rx: rx, rxStack: rxStack}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	return u
}

// newBsdnetLoopback is a sender and a receiver on one stack's lo0.
func newBsdnetLoopback(tb testing.TB) udpPair {
	st := bsdnet.NewStack()
	u := newBsdnetUDP(tb, st, st, [4]byte{127, 0, 0, 1})
	u.closers = append(u.closers, func() { st.Close() })
	return u
}

// newBsdnetWire is a sender on one stack and a receiver on another, joined
// by a perfect 1500-byte-MTU wire.
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

// kernelUDP is a pair of kernel UDP sockets on 127.0.0.1 through Go's net
// package.
type kernelUDP struct {
	tx, rx  *net.UDPConn
	stopped atomic.Bool
}

func (k *kernelUDP) send(p []byte) error {
	_, err := k.tx.Write(p)
	return err
}

func (k *kernelUDP) recv(p []byte) (int, error) {
	n, err := k.rx.Read(p)
	if !k.stopped.Load() {
		return n, err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return 0, io.EOF
	}
	if err == nil {
		// Still arriving: give the socket another quiet period.
		k.rx.SetReadDeadline(time.Now().Add(kernelQuiet))
	}
	return n, err
}

// kernelQuiet is how long the kernel receiver waits, after the sender is
// done, for a datagram still on its way.
const kernelQuiet = 20 * time.Millisecond

// stop lets recv go on for a moment: the kernel's loopback may hand a
// datagram to the receiving socket after sendmsg returns (softirq), so the
// receiver drains until the socket has been quiet for 20 ms. The wait is
// not counted in the rate, which ends at the last datagram received.
func (k *kernelUDP) stop() {
	k.stopped.Store(true)
	k.rx.SetReadDeadline(time.Now().Add(kernelQuiet))
}

func (k *kernelUDP) reset() {
	k.stopped.Store(false)
	k.rx.SetReadDeadline(time.Time{})
}

func (k *kernelUDP) close() {
	k.tx.Close()
	k.rx.Close()
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
	return &kernelUDP{tx: tx, rx: rx}
}

var udpPeers = []struct {
	name string
	make func(testing.TB) udpPair
}{
	{"bsdnet-loopback", newBsdnetLoopback},
	{"bsdnet-wire", newBsdnetWire},
	{"kernel", newKernelUDP},
}

// udpResult is what a run of the UDP workload measured.
type udpResult struct {
	sent, refused, received int
	elapsed                 time.Duration // from the first send to the last datagram received (or the last send, if later)
}

func (r udpResult) rate() float64 { return float64(r.received) / r.elapsed.Seconds() }

// dropPct is the share of datagrams sent that did not arrive, refused
// sends included, in percent.
func (r udpResult) dropPct() float64 {
	if r.sent == 0 {
		return 0
	}
	return 100 * float64(r.sent-r.received) / float64(r.sent)
}

// udpWorkload sends n datagrams of size bytes over u (from a new
// goroutine) and receives what arrives. Each datagram carries its sequence
// number in its first 4 bytes; with check, the receiver verifies sizes,
// that sequence numbers only go up (UDP may drop but these paths do not
// reorder) and the pattern of the rest of the payload. It does not close u.
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
		if check {
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
					break
				}
			}
			if rerr != nil {
				break
			}
		}
	}
	if rerr != nil {
		// Unblock a sender that is still going: closing is left to the
		// caller, so wait for it to finish its n sends.
		<-sendDone
		return res, rerr
	}
	if err := <-sendDone; err != nil {
		return res, err
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

// BenchmarkUDP: one op is one datagram sent; dgrams/s is the rate at which
// they arrived and drop% the share that did not (dropped at a full receive
// buffer, or refused to the sender with ENOBUFS).
func BenchmarkUDP(b *testing.B) {
	for _, size := range udpPayloads {
		for _, p := range udpPeers {
			b.Run(fmt.Sprintf("%dB/%s", size, p.name), func(b *testing.B) {
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

// TestUDPWorkloads runs the bsdnet UDP workloads briefly with their data
// checked. The sender outruns the receiver, so datagrams are dropped, but
// every one is accounted for: received, refused to the sender, or counted
// in the receiving stack's udps_fullsock.
func TestUDPWorkloads(t *testing.T) {
	for _, size := range udpPayloads {
		for _, p := range udpPeers[:2] {
			t.Run(fmt.Sprintf("%dB/%s", size, p.name), func(t *testing.T) {
				u := p.make(t)
				defer u.close()
				udpWarmup(t, u, size)
				full := &u.(*bsdnetUDP).rxStack.Inet().Stats.UDP.FullSock
				full0 := full.Load()
				res, err := udpWorkload(u, 2000, size, true)
				if err != nil {
					t.Fatal(err)
				}
				if res.received == 0 {
					t.Fatalf("none of %d datagrams arrived", res.sent)
				}
				if dropped := int(full.Load() - full0); res.received+res.refused+dropped != res.sent {
					t.Errorf("%d sent, but %d received + %d refused + %d dropped at a full buffer",
						res.sent, res.received, res.refused, dropped)
				}
				t.Logf("%d of %d received (%.1f%% dropped, %d refused), %.0f dgrams/s",
					res.received, res.sent, res.dropPct(), res.refused, res.rate())
			})
		}
	}
}
