package link_test

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/mbuf"
)

// frameSink collects the frames an interface receives.
type frameSink chan []byte

func capture(ifp *link.Ifnet) frameSink {
	ch := make(frameSink, 256)
	ifp.SetInput(func(_ *link.Ifnet, m *mbuf.Mbuf) {
		b := mbuf.Bytes(m)
		mbuf.FreeChain(m)
		select {
		case ch <- b:
		default:
		}
	})
	return ch
}

// wait returns the first frame for which match is true, failing the test
// after timeout.
func (ch frameSink) wait(t *testing.T, timeout time.Duration, what string, match func([]byte) bool) []byte {
	t.Helper()
	b := ch.poll(timeout, match)
	if b == nil {
		t.Fatalf("no %s within %v", what, timeout)
	}
	return b
}

// poll returns the first frame for which match is true, or nil after
// timeout.
func (ch frameSink) poll(timeout time.Duration, match func([]byte) bool) []byte {
	tm := time.NewTimer(timeout)
	defer tm.Stop()
	for {
		select {
		case b := <-ch:
			if match(b) {
				return b
			}
		case <-tm.C:
			return nil
		}
	}
}

// noGoroutine fails the test if a goroutine running fn (a function name as
// stack traces print it) is still alive after a short grace period.
func noGoroutine(t *testing.T, fn string) {
	t.Helper()
	buf := make([]byte, 1<<20)
	deadline := time.Now().Add(2 * time.Second)
	for {
		n := runtime.Stack(buf, true)
		if !strings.Contains(string(buf[:n]), fn) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("a goroutine in %s is still running after Close:\n%s", fn, buf[:n])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func listenLoopback(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func addr(c *net.UDPConn) *net.UDPAddr { return c.LocalAddr().(*net.UDPAddr) }

// testFrame is an Ethernet frame from src to dst, of ethertype 0x88b5 (for
// experiments), whose payload is n bytes of a pattern starting at seed.
func testFrame(dst, src net.HardwareAddr, n int, seed byte) []byte {
	b := make([]byte, link.EtherHdrLen+n)
	copy(b, dst)
	copy(b[6:], src)
	b[12], b[13] = 0x88, 0xb5
	for i := range n {
		b[link.EtherHdrLen+i] = seed + byte(i)
	}
	return b
}

// chain makes a chain of the bytes of b, cut at each of cuts.
func chain(pool *mbuf.Pool, b []byte, cuts ...int) *mbuf.Mbuf {
	m := pool.CopyIn(mbuf.MT_DATA, b, 0)
	last := m
	prev := 0
	for _, c := range cuts {
		n := mbuf.Split(last, c-prev)
		last.Next = n
		last, prev = n, c
	}
	return m
}

func TestTunnel(t *testing.T) {
	pool := mbuf.NewPool()
	ca, cb := listenLoopback(t), listenLoopback(t)
	macA, macB := link.MACFromName("tuna"), link.MACFromName("tunb")
	a := link.NewTunnel(ca, addr(cb), "tuna", macA, pool)
	b := link.NewTunnel(cb, addr(ca), "tunb", macB, pool)
	defer a.Close()
	defer b.Close()
	if a.MTU() != 1500 || a.Type() != link.Ethernet || !a.Checksum.Load() || !bytes.Equal(a.HWAddr(), macA) {
		t.Fatalf("tunnel interface: mtu %d type %v checksum %v hw %v", a.MTU(), a.Type(), a.Checksum.Load(), a.HWAddr())
	}
	inA, inB := capture(a), capture(b)

	// Both ways, frames of every size class, in one mbuf and in chains.
	for i, n := range []int{0, 1, 46, 100, 1000, 1500} {
		f := testFrame(macB, macA, n, byte(i))
		if err := a.Transmit(chain(pool, f)); err != nil {
			t.Fatalf("a: %d bytes: %v", len(f), err)
		}
		got := inB.wait(t, 5*time.Second, "frame at b", func([]byte) bool { return true })
		if !bytes.Equal(got, f) {
			t.Fatalf("b got %d bytes, want %d: % x", len(got), len(f), got)
		}
		g := testFrame(macA, macB, n, byte(i)+100)
		cuts := []int{6}
		if len(g) > 20 {
			cuts = append(cuts, 14, 20)
		}
		if err := b.Transmit(chain(pool, g, cuts...)); err != nil {
			t.Fatalf("b: %d bytes: %v", len(g), err)
		}
		got = inA.wait(t, 5*time.Second, "frame at a", func([]byte) bool { return true })
		if !bytes.Equal(got, g) {
			t.Fatalf("a got %d bytes, want %d", len(got), len(g))
		}
	}

	// A frame longer than the MTU is not sent; neither is a runt.
	if err := a.Transmit(pool.CopyIn(mbuf.MT_DATA, testFrame(macB, macA, 1501, 0), 0)); !errors.Is(err, syscall.EMSGSIZE) {
		t.Errorf("oversized frame: got %v, want EMSGSIZE", err)
	}
	if err := a.Transmit(pool.CopyIn(mbuf.MT_DATA, make([]byte, 13), 0)); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("runt frame: got %v, want EINVAL", err)
	}
	if got := a.Stats.Oerrors.Load(); got != 2 {
		t.Errorf("a Oerrors = %d, want 2", got)
	}
	if got := a.Stats.Opackets.Load(); got != 6 {
		t.Errorf("a Opackets = %d, want 6", got)
	}
	if got := b.Stats.Ipackets.Load(); got != 6 {
		t.Errorf("b Ipackets = %d, want 6", got)
	}
	if got, want := a.Stats.Ipackets.Load(), b.Stats.Opackets.Load(); got != 6 || want != 6 {
		t.Errorf("a Ipackets = %d, b Opackets = %d, want 6", got, want)
	}

	if err := a.Close(); err != nil {
		t.Errorf("close a: %v", err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second close of a: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("close b: %v", err)
	}
	if err := a.Transmit(pool.CopyIn(mbuf.MT_DATA, testFrame(macB, macA, 10, 0), 0)); !errors.Is(err, link.ErrDown) {
		t.Errorf("transmit after close: got %v, want ErrDown", err)
	}
	noGoroutine(t, "link.(*tunnel).readLoop")
}

// TestTunnelBadInput sends the tunnel datagrams that are not frames of its
// segment: they are dropped and counted, and good frames still arrive.
func TestTunnelBadInput(t *testing.T) {
	pool := mbuf.NewPool()
	ca, peer, stranger := listenLoopback(t), listenLoopback(t), listenLoopback(t)
	defer peer.Close()
	defer stranger.Close()
	mac := link.MACFromName("tunc")
	ifp := link.NewTunnel(ca, addr(peer), "tunc", mac, pool)
	in := capture(ifp)

	send := func(c *net.UDPConn, b []byte) {
		t.Helper()
		if _, err := c.WriteToUDP(b, addr(ca)); err != nil {
			t.Fatal(err)
		}
	}
	send(peer, testFrame(mac, mac, 1501, 0))    // longer than the MTU
	send(peer, make([]byte, 13))                // shorter than a header
	send(stranger, testFrame(mac, mac, 100, 0)) // not from the remote end
	good := testFrame(mac, mac, 1500, 7)
	send(peer, good)
	got := in.wait(t, 5*time.Second, "frame", func([]byte) bool { return true })
	if !bytes.Equal(got, good) {
		t.Fatalf("got %d bytes, want the %d-byte good frame", len(got), len(good))
	}
	if n := ifp.Stats.Ierrors.Load(); n != 2 {
		t.Errorf("Ierrors = %d, want 2", n)
	}
	if n := ifp.Stats.Iqdrops.Load(); n != 1 {
		t.Errorf("Iqdrops = %d, want 1", n)
	}
	if n := ifp.Stats.Ipackets.Load(); n != 1 {
		t.Errorf("Ipackets = %d, want 1", n)
	}

	// The tunnel sends to the peer.
	f := testFrame(link.MACFromName("peer"), mac, 64, 3)
	if err := ifp.Transmit(chain(pool, f, 14)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2000)
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := peer.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf[:n], f) || from.Port != addr(ca).Port {
		t.Errorf("peer got % x from %v", buf[:n], from)
	}

	if err := ifp.Close(); err != nil {
		t.Fatal(err)
	}
	noGoroutine(t, "link.(*tunnel).readLoop")
}

// TestTunnelConnected uses dialed sockets, with no remote address given.
func TestTunnelConnected(t *testing.T) {
	pool := mbuf.NewPool()
	la, lb := listenLoopback(t), listenLoopback(t)
	aa, ab := addr(la), addr(lb)
	la.Close()
	lb.Close()
	ca, err := net.DialUDP("udp4", aa, ab)
	if err != nil {
		t.Skipf("cannot rebind loopback port: %v", err)
	}
	cb, err := net.DialUDP("udp4", ab, aa)
	if err != nil {
		ca.Close()
		t.Skipf("cannot rebind loopback port: %v", err)
	}
	macA, macB := link.MACFromName("a"), link.MACFromName("b")
	a := link.NewTunnel(ca, nil, "tuna", macA, pool)
	b := link.NewTunnel(cb, nil, "tunb", macB, pool)
	inB := capture(b)
	f := testFrame(macB, macA, 200, 1)
	if err := a.Transmit(chain(pool, f, 3, 100)); err != nil {
		t.Fatal(err)
	}
	if got := inB.wait(t, 5*time.Second, "frame", func([]byte) bool { return true }); !bytes.Equal(got, f) {
		t.Fatalf("got % x", got)
	}
	a.Close()
	b.Close()
	noGoroutine(t, "link.(*tunnel).readLoop")
}
