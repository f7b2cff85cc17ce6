package benchsuite

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

// The PF_LOCAL workloads are written once over io.ReadWriteCloser: a
// bsdnet socket through sockConn (one Send or Receive per call, as a
// write(2) or read(2)), a kernel unix-domain socket as Go's net.UnixConn
// bound in a temporary directory.

// benchCred is the credential of the bsdnet sockets: an ordinary user.
var benchCred = socket.UserCred(1000, 1000)

// sockConn is a bsdnet socket as an io.ReadWriteCloser.
type sockConn struct{ so *socket.Socket }

func (c sockConn) Read(p []byte) (int, error) {
	u := socket.UioBuf(p)
	flags := 0
	err := c.so.Receive(context.Background(), nil, &u, nil, nil, &flags)
	n := len(p) - u.Resid
	if err == nil && n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, err
}

func (c sockConn) Write(p []byte) (int, error) {
	u := socket.UioBuf(p)
	err := c.so.Send(context.Background(), nil, &u, nil, nil, 0)
	return len(p) - u.Resid, err
}

func (c sockConn) Close() error { return c.so.Close() }

// pairFunc makes two connected ends and a function that releases what
// they needed beyond themselves (a stack, a directory).
type pairFunc func() (a, b io.ReadWriteCloser, done func(), err error)

func bsdnetPair(typ int) pairFunc {
	return func() (io.ReadWriteCloser, io.ReadWriteCloser, func(), error) {
		st := bsdnet.NewStack()
		a, b, err := st.Socketpair(socket.PF_LOCAL, typ, 0, benchCred)
		if err != nil {
			st.Close()
			return nil, nil, nil, err
		}
		return sockConn{a}, sockConn{b}, func() { st.Close() }, nil
	}
}

var (
	bsdnetStreamPair = bsdnetPair(socket.SOCK_STREAM)
	bsdnetDgramPair  = bsdnetPair(socket.SOCK_DGRAM)
)

// tempSocketDir is a short directory for kernel sockets: sun_path holds
// about a hundred bytes.
func tempSocketDir() (string, error) { return os.MkdirTemp("", "bsdnet-bench") }

// kernelStreamPair connects to a unix stream listener in a temporary
// directory and accepts the connection.
func kernelStreamPair() (io.ReadWriteCloser, io.ReadWriteCloser, func(), error) {
	dir, err := tempSocketDir()
	if err != nil {
		return nil, nil, nil, err
	}
	path := filepath.Join(dir, "s")
	l, err := net.Listen("unix", path)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	defer l.Close()
	c, err := net.Dial("unix", path)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	s, err := l.Accept()
	if err != nil {
		c.Close()
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	return c, s, func() { os.RemoveAll(dir) }, nil
}

// kernelDgramPair is a unixgram receiver bound in a temporary directory
// and a sender connected to it.
func kernelDgramPair() (io.ReadWriteCloser, io.ReadWriteCloser, func(), error) {
	dir, err := tempSocketDir()
	if err != nil {
		return nil, nil, nil, err
	}
	raddr := &net.UnixAddr{Net: "unixgram", Name: filepath.Join(dir, "r")}
	r, err := net.ListenUnixgram("unixgram", raddr)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	s, err := net.DialUnix("unixgram", nil, raddr)
	if err != nil {
		r.Close()
		os.RemoveAll(dir)
		return nil, nil, nil, err
	}
	return s, r, func() { os.RemoveAll(dir) }, nil
}

// streamChunk is the size of each write of the stream workload.
const streamChunk = 64 << 10

// localStream measures stream throughput: one goroutine writes b.N chunks
// of streamChunk bytes, the benchmark's goroutine reads them.
func localStream(mk pairFunc) func(b *testing.B) error {
	return func(b *testing.B) error {
		x, y, done, err := mk()
		if err != nil {
			return err
		}
		defer done()
		b.SetBytes(streamChunk)
		b.ResetTimer()
		err = streamWorkload(x, y, b.N, false)
		b.StopTimer()
		return err
	}
}

// streamWorkload writes n chunks of 64 KiB into a from a new goroutine and
// reads them all from b; with check, the bytes follow a pattern the reader
// verifies. It closes both ends.
func streamWorkload(a, b io.ReadWriteCloser, n int, check bool) error {
	defer b.Close()
	errc := make(chan error, 1)
	go func() {
		defer a.Close()
		buf := make([]byte, streamChunk)
		for i := range n {
			if check {
				for j := range buf {
					buf[j] = pattern(int64(i)*streamChunk + int64(j))
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
				if want := pattern(got + int64(j)); c != want {
					b.Close()
					<-errc
					return fmt.Errorf("stream byte %d is %d, want %d", got+int64(j), c, want)
				}
			}
		}
		got += int64(k)
		if err != nil {
			b.Close()
			<-errc
			return fmt.Errorf("read after %d of %d bytes: %w", got, total, err)
		}
	}
	return <-errc
}

// pattern is the checked stream's byte at offset off.
func pattern(off int64) byte { return byte(off*7 + off/251) }

// localPingPong measures 1-byte round trips.
func localPingPong(mk pairFunc) func(b *testing.B) error {
	return func(b *testing.B) error {
		x, y, done, err := mk()
		if err != nil {
			return err
		}
		defer done()
		b.ResetTimer()
		err = pingPongWorkload(x, y, b.N, false)
		b.StopTimer()
		return err
	}
}

// pingPongWorkload makes n 1-byte round trips: a writes a byte, an echo
// goroutine reading b writes it back, a reads it. It closes both ends.
func pingPongWorkload(a, b io.ReadWriteCloser, n int, check bool) error {
	echoed := make(chan error, 1)
	go func() {
		defer b.Close()
		var one [1]byte
		for {
			k, err := b.Read(one[:])
			if err == io.EOF {
				echoed <- nil
				return
			}
			if err == nil && k != 1 {
				err = fmt.Errorf("echo read %d bytes", k)
			}
			if err == nil {
				_, err = b.Write(one[:])
			}
			if err != nil {
				echoed <- fmt.Errorf("echo: %w", err)
				return
			}
		}
	}()
	var one [1]byte
	var err error
	for i := 0; i < n && err == nil; i++ {
		one[0] = byte(i)
		if _, err = a.Write(one[:]); err != nil {
			break
		}
		var k int
		k, err = a.Read(one[:])
		if err == nil && check && (k != 1 || one[0] != byte(i)) {
			err = fmt.Errorf("round trip %d: %d bytes %v", i, k, one[:k])
		}
	}
	a.Close()
	if e := <-echoed; err == nil {
		err = e
	}
	return err
}

// dgramSize is the payload of the PF_LOCAL datagram workload.
const dgramSize = 64

// localDgram measures 64-byte datagrams from one goroutine to another.
func localDgram(mk pairFunc) func(b *testing.B) error {
	return func(b *testing.B) error {
		x, y, done, err := mk()
		if err != nil {
			return err
		}
		defer done()
		b.SetBytes(dgramSize)
		b.ResetTimer()
		err = dgramWorkload(x, y, b.N, false)
		b.StopTimer()
		return err
	}
}

// dgramWorkload sends n datagrams of 64 bytes from a (in a new goroutine)
// to b. A bsdnet PF_LOCAL sender to a full receiver is refused with
// ENOBUFS, as FreeBSD's is; it yields and sends again, so none is lost. It
// closes both ends.
func dgramWorkload(a, b io.ReadWriteCloser, n int, check bool) error {
	defer b.Close()
	errc := make(chan error, 1)
	go func() {
		defer a.Close()
		buf := make([]byte, dgramSize)
		for i := 0; i < n; {
			buf[0], buf[dgramSize-1] = byte(i), byte(i>>8)
			if _, err := a.Write(buf); errors.Is(err, syscall.ENOBUFS) {
				runtime.Gosched()
				continue
			} else if err != nil {
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
		if err == nil && (k != dgramSize || check && (buf[0] != byte(i) || buf[dgramSize-1] != byte(i>>8))) {
			err = fmt.Errorf("datagram %d: %d bytes, numbered %d", i, k, int(buf[0])|int(buf[dgramSize-1])<<8)
		}
		if err != nil {
			b.Close()
			<-errc
			return fmt.Errorf("receive %d: %w", i, err)
		}
	}
	return <-errc
}

// acceptor makes connections of one implementation.
type acceptor interface {
	// cycle connects, accepts, with check exchanges a byte each way, and
	// closes both ends.
	cycle(check bool) error
	close()
}

// connectCycle measures connect+accept+close, inline in one goroutine.
func connectCycle(mk func() (acceptor, error)) func(b *testing.B) error {
	return func(b *testing.B) error {
		a, err := mk()
		if err != nil {
			return err
		}
		defer a.close()
		b.ResetTimer()
		for range b.N {
			if err := a.cycle(false); err != nil {
				return err
			}
		}
		b.StopTimer()
		return nil
	}
}

// connectWorkload makes n connections, each checked with a byte each way,
// on bsdnet (kernel false) or the kernel.
func connectWorkload(kernel bool, n int) error {
	mk := newBsdnetAcceptor
	if kernel {
		mk = newKernelAcceptor
	}
	a, err := mk()
	if err != nil {
		return err
	}
	defer a.close()
	for i := range n {
		if err := a.cycle(true); err != nil {
			return fmt.Errorf("connection %d: %w", i, err)
		}
	}
	return nil
}

type bsdnetAcceptor struct {
	st   *bsdnet.Stack
	l    *socket.Socket
	addr socket.SockaddrUnix
}

func newBsdnetAcceptor() (acceptor, error) {
	st := bsdnet.NewStack()
	a := &bsdnetAcceptor{st: st, addr: socket.SockaddrUnix{Path: "/bench/listener"}}
	err := st.Vnet().SetSomaxconn(4096)
	if err == nil {
		a.l, err = st.Socket(socket.PF_LOCAL, socket.SOCK_STREAM, 0, benchCred)
	}
	if err == nil {
		err = a.l.Bind(a.addr)
	}
	if err == nil {
		err = a.l.Listen(4096)
	}
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

func (a *bsdnetAcceptor) cycle(check bool) error {
	c, err := a.st.Socket(socket.PF_LOCAL, socket.SOCK_STREAM, 0, benchCred)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Connect(a.addr); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	s, err := a.l.ListenDequeue(context.Background(), 0)
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	defer s.Close()
	if check {
		return exchange(sockConn{c}, sockConn{s})
	}
	return nil
}

func (a *bsdnetAcceptor) close() { a.st.Close() }

type kernelAcceptor struct {
	dir string
	l   net.Listener
}

func newKernelAcceptor() (acceptor, error) {
	dir, err := tempSocketDir()
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("unix", filepath.Join(dir, "l"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &kernelAcceptor{dir: dir, l: l}, nil
}

func (a *kernelAcceptor) cycle(check bool) error {
	c, err := net.Dial("unix", a.l.Addr().String())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer c.Close()
	s, err := a.l.Accept()
	if err != nil {
		return fmt.Errorf("accept: %w", err)
	}
	defer s.Close()
	if check {
		return exchange(c, s)
	}
	return nil
}

func (a *kernelAcceptor) close() {
	a.l.Close()
	os.RemoveAll(a.dir)
}

// exchange sends a byte each way over a fresh connection.
func exchange(c, s io.ReadWriter) error {
	var one [1]byte
	for _, d := range [][2]io.ReadWriter{{c, s}, {s, c}} {
		if _, err := d[0].Write([]byte{'x'}); err != nil {
			return err
		}
		if k, err := d[1].Read(one[:]); err != nil || k != 1 || one[0] != 'x' {
			return fmt.Errorf("exchange: %d bytes %q, %v", k, one[:k], err)
		}
	}
	return nil
}
