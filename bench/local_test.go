package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/socket"
)

// PF_LOCAL against the kernel's unix-domain sockets. The stream, ping-pong
// and datagram workloads are written once over io.ReadWriteCloser: bsdnet
// sockets are adapted by conn, a thin wrapper over Send and Receive, and
// kernel sockets are net.UnixConns made from socketpair(2).

var (
	bg   = context.Background()
	cred = socket.UserCred(1000, 1000)
)

// conn adapts a bsdnet socket to io.ReadWriteCloser with one Send or one
// Receive per call, as a read(2) or write(2) on a descriptor would.
type conn struct{ so *socket.Socket }

func (c conn) Read(p []byte) (int, error) {
	u := socket.UioBuf(p)
	flags := 0
	err := c.so.Receive(bg, nil, &u, nil, nil, &flags)
	n := len(p) - u.Resid
	if err == nil && n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, err
}

func (c conn) Write(p []byte) (int, error) {
	u := socket.UioBuf(p)
	err := c.so.Send(bg, nil, &u, nil, nil, 0)
	return len(p) - u.Resid, err
}

func (c conn) Close() error { return c.so.Close() }

// peer makes connected pairs of one implementation.
type peer struct {
	name string
	pair func(tb testing.TB, typ int) (a, b io.ReadWriteCloser)
}

var peers = []peer{
	{"bsdnet", bsdnetPair},
	{"kernel", kernelPair},
}

func bsdnetPair(tb testing.TB, typ int) (io.ReadWriteCloser, io.ReadWriteCloser) {
	tb.Helper()
	st := bsdnet.NewStack()
	tb.Cleanup(func() { st.Close() })
	a, b, err := st.Socketpair(socket.PF_LOCAL, typ, 0, cred)
	if err != nil {
		tb.Fatalf("socketpair: %v", err)
	}
	return conn{a}, conn{b}
}

// kernelSocketpair returns the two ends of a kernel socketpair(2) as
// net.Conns (Go's non-blocking descriptors on the netpoller).
func kernelSocketpair(typ int) (net.Conn, net.Conn, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, typ|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	var cs [2]net.Conn
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		cs[i], err = net.FileConn(f) // dups fd
		f.Close()
		if err != nil {
			if i == 1 {
				cs[0].Close()
			} else {
				syscall.Close(fds[1])
			}
			return nil, nil, err
		}
	}
	return cs[0], cs[1], nil
}

func kernelPair(tb testing.TB, typ int) (io.ReadWriteCloser, io.ReadWriteCloser) {
	tb.Helper()
	ktyp := syscall.SOCK_STREAM
	if typ == socket.SOCK_DGRAM {
		ktyp = syscall.SOCK_DGRAM
	}
	a, b, err := kernelSocketpair(ktyp)
	if err != nil {
		tb.Fatalf("socketpair: %v", err)
	}
	return a, b
}

// streamChunk is the size of each write (and read buffer) of the
// throughput workload.
const streamChunk = 64 * 1024

// streamWorkload writes n chunks of streamChunk bytes from a (in a new
// goroutine) and reads them all from b; with check, the bytes are a pattern
// the reader verifies. It closes both ends.
func streamWorkload(a, b io.ReadWriteCloser, n int, check bool) error {
	defer b.Close()
	errc := make(chan error, 1)
	go func() {
		defer a.Close()
		buf := make([]byte, streamChunk)
		for i := range n {
			if check {
				for j := range buf {
					buf[j] = byte(i + j)
				}
			}
			if _, err := a.Write(buf); err != nil {
				errc <- fmt.Errorf("write %d: %w", i, err)
				return
			}
		}
		errc <- nil
	}()
	buf := make([]byte, streamChunk)
	total := int64(n) * streamChunk
	var got int64
	for got < total {
		k, err := b.Read(buf)
		if check {
			for j, c := range buf[:k] {
				g := got + int64(j)
				if want := byte(g%streamChunk + g/streamChunk); c != want {
					return fmt.Errorf("byte %d is %d, want %d", g, c, want)
				}
			}
		}
		got += int64(k)
		if err != nil {
			return fmt.Errorf("read after %d bytes: %w", got, err)
		}
	}
	return <-errc
}

// pingPongWorkload makes n 1-byte round trips: a sends, an echo goroutine
// on b answers, a waits for the answer. It closes both ends.
func pingPongWorkload(a, b io.ReadWriteCloser, n int, check bool) error {
	done := make(chan error, 1)
	go func() {
		defer b.Close()
		var buf [1]byte
		for {
			k, err := b.Read(buf[:])
			if err == io.EOF {
				done <- nil
				return
			}
			if err == nil && k != 1 {
				err = fmt.Errorf("echo read %d bytes", k)
			}
			if err == nil {
				_, err = b.Write(buf[:])
			}
			if err != nil {
				done <- fmt.Errorf("echo: %w", err)
				return
			}
		}
	}()
	var buf [1]byte
	var err error
	for i := range n {
		buf[0] = byte(i)
		if _, err = a.Write(buf[:]); err != nil {
			break
		}
		var k int
		if k, err = a.Read(buf[:]); err != nil {
			break
		}
		if check && (k != 1 || buf[0] != byte(i)) {
			err = fmt.Errorf("round trip %d: got %d bytes %v", i, k, buf[:k])
			break
		}
	}
	a.Close()
	if e := <-done; err == nil {
		err = e
	}
	return err
}

// dgramSize is the payload of each datagram of the datagram workload.
const dgramSize = 64

// dgramWorkload sends n datagrams of dgramSize bytes from a (in a new
// goroutine) to b, which receives them. bsdnet refuses a datagram to a full
// receiver with ENOBUFS (FreeBSD's behaviour for PF_LOCAL); the sender then
// yields and retries, so nothing is lost. It closes both ends.
func dgramWorkload(a, b io.ReadWriteCloser, n int, check bool) error {
	defer b.Close()
	errc := make(chan error, 1)
	go func() {
		defer a.Close()
		buf := make([]byte, dgramSize)
		for i := 0; i < n; {
			buf[0] = byte(i)
			_, err := a.Write(buf)
			if errors.Is(err, syscall.ENOBUFS) {
				runtime.Gosched()
				continue
			}
			if err != nil {
				errc <- fmt.Errorf("send %d: %w", i, err)
				return
			}
			i++
		}
		errc <- nil
	}()
	buf := make([]byte, 2*dgramSize)
	for i := range n {
		k, err := b.Read(buf)
		if err != nil {
			return fmt.Errorf("receive %d: %w", i, err)
		}
		if k != dgramSize || check && buf[0] != byte(i) {
			return fmt.Errorf("datagram %d: %d bytes, first %d", i, k, buf[0])
		}
	}
	return <-errc
}

// acceptor makes connections of one implementation: connect, accept, and
// close both ends.
type acceptor interface {
	// cycle connects, accepts, optionally exchanges a byte each way, and
	// closes both ends.
	cycle(check bool) error
	close()
}

type bsdnetAcceptor struct {
	st   *bsdnet.Stack
	l    *socket.Socket
	addr socket.SockaddrUnix
}

func newBsdnetAcceptor(tb testing.TB) acceptor {
	st := bsdnet.NewStack()
	if err := st.Vnet().SetSomaxconn(4096); err != nil {
		tb.Fatal(err)
	}
	l, err := st.Socket(socket.PF_LOCAL, socket.SOCK_STREAM, 0, cred)
	if err != nil {
		tb.Fatal(err)
	}
	a := &bsdnetAcceptor{st: st, l: l, addr: socket.SockaddrUnix{Path: "/bench/listener"}}
	if err := l.Bind(a.addr); err != nil {
		tb.Fatal(err)
	}
	if err := l.Listen(4096); err != nil {
		tb.Fatal(err)
	}
	return a
}

func (a *bsdnetAcceptor) cycle(check bool) error {
	c, err := a.st.Socket(socket.PF_LOCAL, socket.SOCK_STREAM, 0, cred)
	if err != nil {
		return err
	}
	if err := c.Connect(a.addr); err != nil {
		c.Close()
		return fmt.Errorf("connect: %w", err)
	}
	s, err := a.l.ListenDequeue(bg, 0)
	if err != nil {
		c.Close()
		return fmt.Errorf("accept: %w", err)
	}
	if check {
		err = exchange(conn{c}, conn{s})
	}
	c.Close()
	s.Close()
	return err
}

func (a *bsdnetAcceptor) close() { a.st.Close() }

type kernelAcceptor struct {
	dir  string
	l    *net.UnixListener
	addr *net.UnixAddr
}

func newKernelAcceptor(tb testing.TB) acceptor {
	// A short directory: sun_path holds 108 bytes.
	dir, err := os.MkdirTemp("", "bnb")
	if err != nil {
		tb.Fatal(err)
	}
	a := &kernelAcceptor{dir: dir, addr: &net.UnixAddr{Net: "unix", Name: filepath.Join(dir, "l")}}
	if a.l, err = net.ListenUnix("unix", a.addr); err != nil {
		os.RemoveAll(dir)
		tb.Fatal(err)
	}
	return a
}

func (a *kernelAcceptor) cycle(check bool) error {
	c, err := net.DialUnix("unix", nil, a.addr)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	s, err := a.l.AcceptUnix()
	if err != nil {
		c.Close()
		return fmt.Errorf("accept: %w", err)
	}
	if check {
		err = exchange(c, s)
	}
	c.Close()
	s.Close()
	return err
}

func (a *kernelAcceptor) close() {
	a.l.Close()
	os.RemoveAll(a.dir)
}

// exchange sends a byte each way over a fresh connection.
func exchange(c, s io.ReadWriter) error {
	var buf [1]byte
	for _, d := range [][2]io.ReadWriter{{c, s}, {s, c}} {
		if _, err := d[0].Write([]byte{'x'}); err != nil {
			return err
		}
		if k, err := d[1].Read(buf[:]); err != nil || k != 1 || buf[0] != 'x' {
			return fmt.Errorf("exchange: %d bytes %q, %v", k, buf[:k], err)
		}
	}
	return nil
}

var acceptors = []struct {
	name string
	make func(testing.TB) acceptor
}{
	{"bsdnet", newBsdnetAcceptor},
	{"kernel", newKernelAcceptor},
}

// idleFootprint creates n idle connected stream pairs with mk and reports
// the heap bytes per pair that are still live after a collection, and the
// goroutines per socket. closeAll undoes it.
func idleFootprint(n int, mk func() (io.Closer, io.Closer, error)) (heapPerPair, goroutinesPerSocket float64, err error) {
	held := make([]io.Closer, 0, 2*n)
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	var before, after runtime.MemStats
	// Two collections: the first only moves sync.Pool contents (earlier
	// runs' mbufs) to the victim cache, the second frees them.
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	g0 := runtime.NumGoroutine()
	for range n {
		a, b, err := mk()
		if err != nil {
			return 0, 0, err
		}
		held = append(held, a, b)
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&after)
	g1 := runtime.NumGoroutine()
	heap := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
	return heap, float64(g1-g0) / float64(2*n), nil
}

// idlePairs are the sizes of the idle-footprint runs. The kernel run is
// smaller because each socket is a descriptor and RLIMIT_NOFILE may be
// 20000.
var idlePairs = []struct {
	name string
	n    int
	mk   func() func() (io.Closer, io.Closer, error)
}{
	{"bsdnet", 10000, func() func() (io.Closer, io.Closer, error) {
		st := bsdnet.NewStack()
		return func() (io.Closer, io.Closer, error) {
			a, b, err := st.Socketpair(socket.PF_LOCAL, socket.SOCK_STREAM, 0, cred)
			if err != nil {
				return nil, nil, err
			}
			return a, b, nil
		}
	}},
	{"kernel", 5000, func() func() (io.Closer, io.Closer, error) {
		return func() (io.Closer, io.Closer, error) {
			a, b, err := kernelSocketpair(syscall.SOCK_STREAM)
			return a, b, err
		}
	}},
}

// TestWorkloads runs every benchmark workload briefly with its data checked.
func TestWorkloads(t *testing.T) {
	for _, p := range peers {
		t.Run("stream/"+p.name, func(t *testing.T) {
			a, b := p.pair(t, socket.SOCK_STREAM)
			if err := streamWorkload(a, b, 20, true); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("pingpong/"+p.name, func(t *testing.T) {
			a, b := p.pair(t, socket.SOCK_STREAM)
			if err := pingPongWorkload(a, b, 300, true); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("dgram/"+p.name, func(t *testing.T) {
			a, b := p.pair(t, socket.SOCK_DGRAM)
			if err := dgramWorkload(a, b, 2000, true); err != nil {
				t.Fatal(err)
			}
		})
	}
	for _, ac := range acceptors {
		t.Run("connect/"+ac.name, func(t *testing.T) {
			a := ac.make(t)
			defer a.close()
			for i := range 200 {
				if err := a.cycle(true); err != nil {
					t.Fatalf("cycle %d: %v", i, err)
				}
			}
		})
	}
	for _, ip := range idlePairs {
		t.Run("idle/"+ip.name, func(t *testing.T) {
			heap, g, err := idleFootprint(100, ip.mk())
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%.0f B/pair, %.2f goroutines/socket", heap, g)
			if ip.name == "bsdnet" && g > 0.5 {
				t.Errorf("%.2f goroutines per idle socket, want none", g)
			}
		})
	}
}

// kernelStreamBuf is what Linux gives a unix stream socket by default
// (net.core.wmem_default), read from the kernel peer in the same run so the
// matched comparison uses equal buffers.
func kernelStreamBuf(tb testing.TB) int {
	x, y, err := kernelSocketpair(socket.SOCK_STREAM)
	if err != nil {
		tb.Fatal(err)
	}
	defer x.Close()
	defer y.Close()
	raw, err := x.(syscall.Conn).SyscallConn()
	if err != nil {
		tb.Fatal(err)
	}
	var n int
	var serr error
	raw.Control(func(fd uintptr) { n, serr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_SNDBUF) })
	if serr != nil {
		tb.Fatal(serr)
	}
	return n
}

// bsdnetPairSized is a bsdnet stream pair whose buffers are n bytes, as
// SO_SNDBUF and SO_RCVBUF would make them.
func bsdnetPairSized(tb testing.TB, n int) (io.ReadWriteCloser, io.ReadWriteCloser) {
	tb.Helper()
	a, b := bsdnetPair(tb, socket.SOCK_STREAM)
	for _, c := range []io.ReadWriteCloser{a, b} {
		so := c.(conn).so
		for _, opt := range []int{socket.SO_SNDBUF, socket.SO_RCVBUF} {
			if err := so.SetOptInt(socket.SOL_SOCKET, opt, n); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return a, b
}

// BenchmarkStreamThroughput: 64 KiB writes on a connected stream pair, one
// goroutine writing and one reading. "bsdnet" has FreeBSD's default 64 KiB
// buffers; "bsdnet-matched" has the kernel peer's buffer size, so the two
// compare like for like.
func BenchmarkStreamThroughput(b *testing.B) {
	b.Run("bsdnet-matched", func(b *testing.B) {
		x, y := bsdnetPairSized(b, kernelStreamBuf(b))
		b.SetBytes(streamChunk)
		b.ReportAllocs()
		b.ResetTimer()
		if err := streamWorkload(x, y, b.N, false); err != nil {
			b.Fatal(err)
		}
	})
	for _, p := range peers {
		b.Run(p.name, func(b *testing.B) {
			x, y := p.pair(b, socket.SOCK_STREAM)
			b.SetBytes(streamChunk)
			b.ReportAllocs()
			b.ResetTimer()
			if err := streamWorkload(x, y, b.N, false); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkPingPong: one op is a 1-byte round trip between two goroutines.
func BenchmarkPingPong(b *testing.B) {
	for _, p := range peers {
		b.Run(p.name, func(b *testing.B) {
			x, y := p.pair(b, socket.SOCK_STREAM)
			b.ReportAllocs()
			b.ResetTimer()
			if err := pingPongWorkload(x, y, b.N, false); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkConnectAcceptClose: one op is a connect, the accept of it, and
// the close of both ends, inline in one goroutine.
func BenchmarkConnectAcceptClose(b *testing.B) {
	for _, ac := range acceptors {
		b.Run(ac.name, func(b *testing.B) {
			a := ac.make(b)
			defer a.close()
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := a.cycle(false); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conns/s")
		})
	}
}

// BenchmarkDgram64: one op is a 64-byte datagram sent by one goroutine and
// received by another on a connected SOCK_DGRAM pair.
func BenchmarkDgram64(b *testing.B) {
	for _, p := range peers {
		b.Run(p.name, func(b *testing.B) {
			x, y := p.pair(b, socket.SOCK_DGRAM)
			b.SetBytes(dgramSize)
			b.ReportAllocs()
			b.ResetTimer()
			if err := dgramWorkload(x, y, b.N, false); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "dgrams/s")
		})
	}
}

// BenchmarkIdlePairHeap: the Go heap held per idle connected stream pair,
// and goroutines per socket. For the kernel that is only the Go side (the
// net.Conns); the kernel's own memory is not counted. One op creates and
// measures a whole batch of pairs.
func BenchmarkIdlePairHeap(b *testing.B) {
	for _, ip := range idlePairs {
		b.Run(ip.name, func(b *testing.B) {
			var heap, g float64
			for range b.N {
				h, gs, err := idleFootprint(ip.n, ip.mk())
				if err != nil {
					b.Fatal(err)
				}
				heap += h
				g += gs
			}
			b.ReportMetric(heap/float64(b.N), "B/pair")
			b.ReportMetric(g/float64(b.N), "goroutines/socket")
		})
	}
}
