package benchsuite

import (
	"context"
	"encoding/binary"
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

// The UDP workloads: one goroutine sends on a connected socket as fast as
// it can, another receives on the socket it sends to. Nothing paces the
// sender, so a receiver that falls behind loses datagrams at its full
// buffer, as UDP does; the figure is the rate of arrival and the share
// lost is reported beside it.

// udpPair is one implementation's sender and receiver.
type udpPair interface {
	send(p []byte) error
	// recv receives one datagram into p; once stop has been called it
	// returns io.EOF when nothing more is coming.
	recv(p []byte) (int, error)
	stop()
	reset()
	close()
}

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
	return u.tx.Send(context.Background(), nil, &uio, nil, nil, 0)
}

func (u *bsdnetUDP) recv(p []byte) (int, error) {
	for {
		uio := socket.UioBuf(p)
		flags := 0
		stopped := u.stopped.Load()
		if stopped {
			flags = socket.MSG_DONTWAIT
		}
		err := u.rx.Receive(u.ctx, nil, &uio, nil, nil, &flags)
		switch {
		case err == nil:
			return len(p) - uio.Resid, nil
		case u.stopped.Load() && (errors.Is(err, syscall.EINTR) || errors.Is(err, context.Canceled)):
			continue // woken by stop: drain without sleeping
		case stopped && errors.Is(err, syscall.EWOULDBLOCK):
			return 0, io.EOF
		}
		return 0, err
	}
}

// stop wakes a sleeping receiver. A bsdnet send runs to completion (the
// datagram is queued at the receiver, or dropped, when Send returns), so
// the receiver then drains its queue without sleeping.
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

// newBsdnetUDP binds a receiver on rxStack at dst and connects a sender on
// txStack to it.
func newBsdnetUDP(txStack, rxStack *bsdnet.Stack, dst [4]byte) (*bsdnetUDP, error) {
	rx, err := rxStack.Socket(socket.PF_INET, socket.SOCK_DGRAM, 0, benchCred)
	if err != nil {
		return nil, err
	}
	tx, err := txStack.Socket(socket.PF_INET, socket.SOCK_DGRAM, 0, benchCred)
	if err != nil {
		rx.Close()
		return nil, err
	}
	sa := socket.SockaddrInet4{Port: udpPort, Addr: dst}
	if err = rx.Bind(sa); err == nil {
		err = tx.Connect(sa)
	}
	if err != nil {
		rx.Close()
		tx.Close()
		return nil, fmt.Errorf("UDP to %s: %w", socket.FormatSockaddr(sa), err)
	}
	u := &bsdnetUDP{tx: tx, rx: rx, rxStack: rxStack}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	return u, nil
}

// newBsdnetLoopback is a sender and a receiver on one stack's lo0.
func newBsdnetLoopback() (udpPair, error) {
	st := bsdnet.NewStack()
	u, err := newBsdnetUDP(st, st, [4]byte{127, 0, 0, 1})
	if err != nil {
		st.Close()
		return nil, err
	}
	u.closers = append(u.closers, func() { st.Close() })
	return u, nil
}

// newBsdnetWire is a sender on one stack and a receiver on another,
// joined by a faultless wire with Ethernet's MTU.
func newBsdnetWire() (udpPair, error) {
	n := bsdnet.NewNetwork(1)
	a, b := n.Host("a"), n.Host("b")
	if _, err := n.Connect(a, "10.0.0.1/24", b, "10.0.0.2/24", link.Faults{}); err != nil {
		n.Close()
		return nil, err
	}
	u, err := newBsdnetUDP(a, b, [4]byte{10, 0, 0, 2})
	if err != nil {
		n.Close()
		return nil, err
	}
	u.closers = append(u.closers, func() { n.Close() })
	return u, nil
}

// kernelUDP is a pair of kernel UDP sockets on 127.0.0.1.
type kernelUDP struct {
	tx, rx  *net.UDPConn
	stopped atomic.Bool
}

// kernelQuiet is how long the kernel receiver waits, once the sender is
// done, for datagrams still on their way (the kernel's loopback may queue
// a datagram after sendmsg returns). The wait is not counted in the rate.
const kernelQuiet = 20 * time.Millisecond

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
		k.rx.SetReadDeadline(time.Now().Add(kernelQuiet))
	}
	return n, err
}

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

func newKernelUDP() (udpPair, error) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		rx.Close()
		return nil, err
	}
	return &kernelUDP{tx: tx, rx: rx}, nil
}

// udpResult is what one run of the UDP workload measured.
type udpResult struct {
	sent, refused, received int
	elapsed                 time.Duration // first send to last arrival (or last send, if later)
}

func (r udpResult) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.received) / r.elapsed.Seconds()
}

// lostPct is the share of datagrams sent that did not arrive, those the
// sender was refused (ENOBUFS) included.
func (r udpResult) lostPct() float64 {
	if r.sent == 0 {
		return 0
	}
	return 100 * float64(r.sent-r.received) / float64(r.sent)
}

// udpWorkload sends n datagrams of size bytes over u from a new goroutine
// and receives what arrives. Each carries its sequence number in its
// first 4 bytes; with check, the receiver verifies the size, that the
// numbers only go up (these paths may drop but do not reorder) and the
// rest of the payload.
func udpWorkload(u udpPair, n, size int, check bool) (udpResult, error) {
	var res udpResult
	var sendEnd time.Time
	var sending atomic.Bool
	sending.Store(true)
	sent := make(chan error, 1)
	start := time.Now()
	go func() {
		buf := make([]byte, size)
		for i := range buf {
			buf[i] = byte(i)
		}
		var err error
		for i := range n {
			binary.BigEndian.PutUint32(buf, uint32(i))
			if e := u.send(buf); errors.Is(e, syscall.ENOBUFS) {
				res.refused++
			} else if e != nil {
				err = fmt.Errorf("send %d: %w", i, e)
				break
			}
		}
		sendEnd = time.Now()
		sending.Store(false)
		u.stop()
		sent <- err
	}()
	buf := make([]byte, size+64)
	var last time.Time
	next := -1
	var rerr error
	for rerr == nil {
		k, err := u.recv(buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			rerr = fmt.Errorf("receive after %d datagrams: %w", res.received, err)
			break
		}
		if !sending.Load() {
			// The clock is read only once the sender is done: the end is
			// then or later.
			last = time.Now()
		}
		res.received++
		if !check {
			continue
		}
		seq := int(binary.BigEndian.Uint32(buf))
		switch {
		case k != size:
			rerr = fmt.Errorf("datagram %d: %d bytes, want %d", res.received, k, size)
		case seq <= next || seq >= n:
			rerr = fmt.Errorf("datagram %d: sequence number %d after %d", res.received, seq, next)
		}
		next = seq
		for j := 4; j < k && rerr == nil; j++ {
			if buf[j] != byte(j) {
				rerr = fmt.Errorf("datagram %d: byte %d is %d", seq, j, buf[j])
			}
		}
	}
	// The sender finishes its n sends whatever the receiver did.
	if err := <-sent; rerr == nil {
		rerr = err
	}
	if rerr != nil {
		return res, rerr
	}
	end := last
	if sendEnd.After(end) {
		end = sendEnd
	}
	res.sent = n
	res.elapsed = end.Sub(start)
	return res, nil
}

// udpWarmup sends single datagrams until one arrives, so that address
// resolution and first use fall outside the measurement.
func udpWarmup(u udpPair, size int) error {
	for range 10 {
		res, err := udpWorkload(u, 1, size, true)
		u.reset()
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		if res.received == 1 {
			return nil
		}
	}
	return errors.New("warm-up: no datagram arrived")
}

// udpBench measures the arrival rate of size-byte datagrams over pairs
// made by mk.
func udpBench(mk func() (udpPair, error), size int) func(b *testing.B) error {
	return func(b *testing.B) error {
		u, err := mk()
		if err != nil {
			return err
		}
		defer u.close()
		if err := udpWarmup(u, size); err != nil {
			return err
		}
		b.SetBytes(int64(size))
		b.ResetTimer()
		res, err := udpWorkload(u, b.N, size, false)
		b.StopTimer()
		if err != nil {
			return err
		}
		b.ReportMetric(res.rate(), "dgrams/s")
		b.ReportMetric(res.lostPct(), "drop%")
		return nil
	}
}
