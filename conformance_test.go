package bsdnet_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet"
)

// The conformance suites run the same assertions against Go's net package
// on the host's kernel (the oracle: unix sockets in t.TempDir(), UDP on
// 127.0.0.1) and against a bsdnet stack, so that the adapters behave as
// programs written for net expect.

type env struct {
	name string
	n    bsdnet.Net
	path func(name string) string // a unix socket path in the env's namespace
}

func forEachNet(t *testing.T, f func(t *testing.T, e env)) {
	t.Run("host", func(t *testing.T) {
		dir := t.TempDir()
		f(t, env{"host", bsdnet.HostNet(), func(n string) string { return filepath.Join(dir, n) }})
	})
	t.Run("bsdnet", func(t *testing.T) {
		st := bsdnet.NewStack()
		t.Cleanup(func() { st.Close() })
		f(t, env{"bsdnet", st, func(n string) string { return "/tmp/" + n }})
	})
}

// pair returns a connected pair over a listener on a fresh path.
func (e env) pair(t *testing.T, network string) (client, server net.Conn, l net.Listener) {
	t.Helper()
	l, err := e.n.Listen(network, e.path("s"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	client, err = e.n.Dial(network, e.path("s"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server, l
}

func checkOpError(t *testing.T, err error, op string) *net.OpError {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Fatalf("error %T %v, want *net.OpError", err, err)
	}
	if oe.Op != op {
		t.Errorf("Op %q, want %q (%v)", oe.Op, op, err)
	}
	return oe
}

func checkTimeout(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error, want a timeout")
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("%v: not a net.Error with Timeout() true", err)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("%v: not os.ErrDeadlineExceeded", err)
	}
}

func TestConformanceAcceptAfterClose(t *testing.T) {
	forEachNet(t, func(t *testing.T, e env) {
		for _, nw := range []string{"unix", "unixpacket"} {
			l, err := e.n.Listen(nw, e.path(nw))
			if err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			_, err = l.Accept()
			if !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s: accept after close: %v, want net.ErrClosed", nw, err)
			}
			checkOpError(t, err, "accept")
			if err := l.Close(); !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s: second close: %v, want net.ErrClosed", nw, err)
			}
		}
	})
}

func TestConformanceConcurrentAcceptClose(t *testing.T) {
	forEachNet(t, func(t *testing.T, e env) {
		l, err := e.n.Listen("unix", e.path("s"))
		if err != nil {
			t.Fatal(err)
		}
		const n = 8
		errs := make(chan error, n)
		for range n {
			go func() {
				_, err := l.Accept()
				errs <- err
			}()
		}
		time.Sleep(20 * time.Millisecond) // let them block
		l.Close()
		for range n {
			select {
			case err := <-errs:
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("blocked accept after close: %v, want net.ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not wake a blocked Accept")
			}
		}
	})
}

func TestConformanceDeadlines(t *testing.T) {
	forEachNet(t, func(t *testing.T, e env) {
		c, s, l := e.pair(t, "unix")

		// A deadline in the past fails at once, with a timeout.
		c.SetReadDeadline(time.Now().Add(-time.Second))
		start := time.Now()
		_, err := c.Read(make([]byte, 10))
		checkTimeout(t, err)
		checkOpError(t, err, "read")
		if d := time.Since(start); d > time.Second {
			t.Errorf("past deadline took %v", d)
		}
		// Data waiting does not beat a past deadline (Go checks first).
		s.Write([]byte("x"))
		time.Sleep(10 * time.Millisecond)
		_, err = c.Read(make([]byte, 10))
		checkTimeout(t, err)

		// Clearing it lets the read through.
		c.SetReadDeadline(time.Time{})
		if n, err := c.Read(make([]byte, 10)); n != 1 || err != nil {
			t.Fatalf("read after clearing the deadline: %d, %v", n, err)
		}

		// A deadline set while a read blocks wakes it.
		done := make(chan error, 1)
		go func() {
			_, err := c.Read(make([]byte, 10))
			done <- err
		}()
		time.Sleep(20 * time.Millisecond)
		c.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		select {
		case err := <-done:
			checkTimeout(t, err)
		case <-time.After(5 * time.Second):
			t.Fatal("a deadline set during a blocked read did not wake it")
		}

		// Extending a deadline while blocked keeps the call asleep.
		c.SetReadDeadline(time.Now().Add(time.Second))
		go func() {
			_, err := c.Read(make([]byte, 10))
			done <- err
		}()
		time.Sleep(20 * time.Millisecond)
		c.SetReadDeadline(time.Time{})
		time.Sleep(1200 * time.Millisecond)
		select {
		case err := <-done:
			t.Fatalf("read returned %v after its deadline was cleared", err)
		default:
		}
		s.Write([]byte("y"))
		if err := <-done; err != nil {
			t.Fatalf("read after the deadline was cleared: %v", err)
		}

		// A write deadline: fill the buffers until a write blocks.
		c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		buf := make([]byte, 64<<10)
		for {
			if _, err = c.Write(buf); err != nil {
				break
			}
		}
		checkTimeout(t, err)
		checkOpError(t, err, "write")

		// Accept with a deadline.
		dl := l.(interface{ SetDeadline(time.Time) error })
		dl.SetDeadline(time.Now().Add(20 * time.Millisecond))
		_, err = l.Accept()
		checkTimeout(t, err)
		checkOpError(t, err, "accept")

		// ReadFrom with a deadline.
		pc, err := e.n.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		pc.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, _, err = pc.ReadFrom(make([]byte, 10))
		checkTimeout(t, err)
		checkOpError(t, err, "read")
	})
}

func TestConformanceAddrs(t *testing.T) {
	forEachNet(t, func(t *testing.T, e env) {
		for _, nw := range []string{"unix", "unixpacket"} {
			t.Run(nw, func(t *testing.T) {
				path := e.path("a" + nw)
				l, err := e.n.Listen(nw, path)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Close()
				c, err := e.n.Dial(nw, path)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				s, err := l.Accept()
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				named := &net.UnixAddr{Name: path, Net: nw}
				checkUnix(t, "listener", l.Addr(), named)
				checkUnix(t, "client remote", c.RemoteAddr(), named)
				checkUnix(t, "server local", s.LocalAddr(), named)
				checkUnix(t, "client local", c.LocalAddr(), nil)
				checkUnix(t, "server remote", s.RemoteAddr(), nil)
			})
		}
		t.Run("udp", func(t *testing.T) {
			pc, err := e.n.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			la, ok := pc.LocalAddr().(*net.UDPAddr)
			if !ok || !la.IP.Equal(net.IPv4(127, 0, 0, 1)) || la.Port == 0 {
				t.Fatalf("ListenPacket local %#v", pc.LocalAddr())
			}
			c, err := e.n.Dial("udp", la.String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ra, ok := c.RemoteAddr().(*net.UDPAddr)
			if !ok || ra.String() != la.String() {
				t.Errorf("Dial remote %#v, want %v", c.RemoteAddr(), la)
			}
			cl, ok := c.LocalAddr().(*net.UDPAddr)
			if !ok || !cl.IP.Equal(net.IPv4(127, 0, 0, 1)) || cl.Port == 0 {
				t.Errorf("Dial local %#v", c.LocalAddr())
			}
			if _, err := c.Write([]byte("hi")); err != nil {
				t.Fatal(err)
			}
			_, from, err := pc.ReadFrom(make([]byte, 10))
			if err != nil {
				t.Fatal(err)
			}
			if from.String() != cl.String() {
				t.Errorf("ReadFrom sender %v, want %v", from, cl)
			}
			w, err := e.n.ListenPacket("udp", ":0")
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			if wa, ok := w.LocalAddr().(*net.UDPAddr); !ok || !wa.IP.Equal(net.IPv6unspecified) || wa.Port == 0 {
				t.Errorf("wildcard local %#v, want [::]:port", w.LocalAddr())
			}
		})
	})
}

// checkUnix checks a unix address: want nil means the unnamed address,
// "@" on Linux and "" on FreeBSD and in bsdnet.
func checkUnix(t *testing.T, what string, got net.Addr, want *net.UnixAddr) {
	t.Helper()
	u, ok := got.(*net.UnixAddr)
	if !ok {
		t.Errorf("%s: %T %v, want *net.UnixAddr", what, got, got)
		return
	}
	if want == nil {
		if u.Name != "" && u.Name != "@" {
			t.Errorf("%s: %q, want the unnamed address", what, u.Name)
		}
		return
	}
	if *u != *want {
		t.Errorf("%s: %#v, want %#v", what, u, want)
	}
}

func TestConformanceTruncation(t *testing.T) {
	forEachNet(t, func(t *testing.T, e env) {
		for _, tc := range []struct{ nw, addr string }{
			{"udp", "127.0.0.1:0"},
			{"unixgram", e.path("g")},
		} {
			t.Run(tc.nw, func(t *testing.T) {
				a, err := e.n.ListenPacket(tc.nw, tc.addr)
				if err != nil {
					t.Fatal(err)
				}
				defer a.Close()
				b, err := e.n.ListenPacket(tc.nw, tc.addr+"b")
				if tc.nw == "udp" {
					b, err = e.n.ListenPacket(tc.nw, tc.addr)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				if _, err := b.WriteTo([]byte("hello, world"), a.LocalAddr()); err != nil {
					t.Fatal(err)
				}
				if _, err := b.WriteTo([]byte("next"), a.LocalAddr()); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 5)
				n, from, err := a.ReadFrom(buf)
				if n != 5 || err != nil || string(buf) != "hello" {
					t.Fatalf("short ReadFrom: %d %q %v, want 5 \"hello\" nil", n, buf[:n], err)
				}
				if from.String() != b.LocalAddr().String() {
					t.Errorf("sender %v, want %v", from, b.LocalAddr())
				}
				// The rest of the datagram is gone.
				n, _, err = a.ReadFrom(buf)
				if err != nil || string(buf[:n]) != "next" {
					t.Fatalf("next ReadFrom: %q %v", buf[:n], err)
				}
			})
		}
	})
}

func TestConformanceDialErrors(t *testing.T) {
	forEachNet(t, func(t *testing.T, e env) {
		for _, nw := range []string{"unix", "unixgram", "unixpacket"} {
			_, err := e.n.Dial(nw, e.path("none"))
			if !errors.Is(err, syscall.ENOENT) {
				t.Errorf("%s: dial to a missing path: %v, want ENOENT", nw, err)
			}
			oe := checkOpError(t, err, "dial")
			var se *os.SyscallError
			if !errors.As(oe.Err, &se) || se.Syscall != "connect" {
				t.Errorf("%s: %#v, want an *os.SyscallError from connect", nw, oe.Err)
			}
		}
		// The wrong type of socket at the path.
		l, err := e.n.Listen("unix", e.path("s"))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if _, err := e.n.Dial("unixpacket", e.path("s")); !errors.Is(err, syscall.EPROTOTYPE) {
			t.Errorf("dial unixpacket to a stream listener: %v, want EPROTOTYPE", err)
		}
		// The path taken.
		if _, err := e.n.Listen("unix", e.path("s")); !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("listen on a taken path: %v, want EADDRINUSE", err)
		}
		if _, err := e.n.Dial("bogus", "x"); err == nil {
			t.Error("dial to an unknown network")
		} else {
			var u net.UnknownNetworkError
			if !errors.As(err, &u) {
				t.Errorf("unknown network: %#v", err)
			}
		}
		if _, err := e.n.ListenPacket("udp", "x"); err == nil {
			t.Error("listen on a port-less address")
		}
	})
}

func TestConformanceCloseAndEOF(t *testing.T) {
	forEachNet(t, func(t *testing.T, e env) {
		for _, nw := range []string{"unix", "unixpacket"} {
			t.Run(nw, func(t *testing.T) {
				c, s, _ := e.pair(t, nw)
				if _, err := c.Write([]byte("bye")); err != nil {
					t.Fatal(err)
				}
				c.Close()
				buf := make([]byte, 10)
				if n, err := s.Read(buf); n != 3 || err != nil {
					t.Fatalf("read before EOF: %d %v", n, err)
				}
				if _, err := s.Read(buf); err != io.EOF {
					t.Fatalf("read at EOF: %v, want io.EOF", err)
				}
				if _, err := s.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
					t.Errorf("write to a closed peer: %v, want EPIPE", err)
				}
				_, err := c.Read(buf)
				if !errors.Is(err, net.ErrClosed) {
					t.Errorf("read after close: %v, want net.ErrClosed", err)
				}
				checkOpError(t, err, "read")
				if _, err := c.Write(buf); !errors.Is(err, net.ErrClosed) {
					t.Errorf("write after close: %v, want net.ErrClosed", err)
				}
				if err := c.Close(); !errors.Is(err, net.ErrClosed) {
					t.Errorf("second close: %v, want net.ErrClosed", err)
				}
				if err := c.SetDeadline(time.Now()); !errors.Is(err, net.ErrClosed) {
					t.Errorf("SetDeadline after close: %v, want net.ErrClosed", err)
				}
			})
		}
	})
}

func TestConformanceCloseWakesRead(t *testing.T) {
	forEachNet(t, func(t *testing.T, e env) {
		c, _, _ := e.pair(t, "unix")
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Read(make([]byte, 10))
			errs <- err
		}()
		time.Sleep(20 * time.Millisecond)
		c.Close()
		wg.Wait()
		if err := <-errs; !errors.Is(err, net.ErrClosed) {
			t.Errorf("blocked read at close: %v, want net.ErrClosed", err)
		}
	})
}

func TestConformanceCloseWrite(t *testing.T) {
	forEachNet(t, func(t *testing.T, e env) {
		c, s, _ := e.pair(t, "unix")
		cw := c.(interface{ CloseWrite() error })
		c.Write([]byte("req"))
		if err := cw.CloseWrite(); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(s)
		if err != nil || !bytes.Equal(got, []byte("req")) {
			t.Fatalf("ReadAll: %q %v", got, err)
		}
		s.Write([]byte("resp"))
		buf := make([]byte, 10)
		if n, err := c.Read(buf); err != nil || string(buf[:n]) != "resp" {
			t.Fatalf("read after CloseWrite: %q %v", buf[:n], err)
		}
		if _, err := c.Write([]byte("x")); !errors.Is(err, syscall.EPIPE) {
			t.Errorf("write after CloseWrite: %v, want EPIPE", err)
		}
	})
}

func TestConformanceDialUnixgram(t *testing.T) {
	forEachNet(t, func(t *testing.T, e env) {
		pc, err := e.n.ListenPacket("unixgram", e.path("g"))
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close()
		c, err := e.n.Dial("unixgram", e.path("g"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		checkUnix(t, "remote", c.RemoteAddr(), &net.UnixAddr{Name: e.path("g"), Net: "unixgram"})
		if _, err := c.Write([]byte("dgram")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 10)
		n, from, err := pc.ReadFrom(buf)
		if err != nil || string(buf[:n]) != "dgram" {
			t.Fatalf("ReadFrom: %q %v", buf[:n], err)
		}
		if from != nil {
			t.Errorf("unnamed sender reported as %#v, want nil", from)
		}
		// An empty datagram is a datagram, not an end of file.
		if _, err := c.Write(nil); err != nil {
			t.Fatal(err)
		}
		if n, _, err := pc.ReadFrom(buf); n != 0 || err != nil {
			t.Errorf("empty datagram: %d %v", n, err)
		}
	})
}
