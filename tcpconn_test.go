package bsdnet_test

import (
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/inet"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/socket"
)

// tcpPair returns a TCP connection over st's loopback and its accepted
// end, closed when the test ends.
func tcpPair(t testing.TB, st *bsdnet.Stack, addr string) (client, server *bsdnet.Conn) {
	t.Helper()
	l, err := st.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := st.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Accept()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		s.Close()
	})
	return c.(*bsdnet.Conn), s.(*bsdnet.Conn)
}

// wirePair joins two hosts by a wire with faults f and returns a TCP
// connection from a (10.0.0.1) to b (10.0.0.2), its accepted end and the
// wire; the network closes when the test ends.
func wirePair(t testing.TB, seed uint64, f link.Faults) (client, server *bsdnet.Conn, w *link.Wire) {
	t.Helper()
	n := bsdnet.NewNetwork(seed)
	t.Cleanup(func() { n.Close() })
	a, b := n.Host("a"), n.Host("b")
	w, err := n.Connect(a, "10.0.0.1/24", b, "10.0.0.2/24", f)
	if err != nil {
		t.Fatal(err)
	}
	l, err := b.Listen("tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := a.Dial("tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Accept()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		s.Close()
	})
	return c.(*bsdnet.Conn), s.(*bsdnet.Conn), w
}

func getInt(t *testing.T, c *bsdnet.Conn, level, name int) int {
	t.Helper()
	v, err := c.Socket().GetOptInt(level, name)
	if err != nil {
		t.Fatalf("getsockopt %d/%d: %v", level, name, err)
	}
	return v
}

func getLinger(t *testing.T, c *bsdnet.Conn) socket.Linger {
	t.Helper()
	b := make([]byte, socket.LingerLen)
	sopt := socket.Sockopt{Level: socket.SOL_SOCKET, Name: socket.SO_LINGER, Val: b, Valsize: len(b)}
	if err := c.Socket().GetOpt(&sopt); err != nil {
		t.Fatalf("getsockopt SO_LINGER: %v", err)
	}
	return socket.ParseLinger(b)
}

// Each setter reaches its socket option: what getsockopt reads back.
func TestTCPOptionsReadBack(t *testing.T) {
	st := bsdnet.NewStack()
	defer st.Close()
	c, s := tcpPair(t, st, "127.0.0.1:0")
	for _, conn := range []*bsdnet.Conn{c, s} {
		if getInt(t, conn, inet.IPPROTO_TCP, inet.TCP_NODELAY) == 0 {
			t.Error("TCP_NODELAY off on a new connection; Go's connections start with it on")
		}
	}
	on := func(v int) bool { return v != 0 }
	tests := []struct {
		name        string
		set         func() error
		level, opt  int
		want        int
		wantBoolean bool // compare as a flag: zero or not
	}{
		{"SetNoDelay(false)", func() error { return c.SetNoDelay(false) }, inet.IPPROTO_TCP, inet.TCP_NODELAY, 0, true},
		{"SetNoDelay(true)", func() error { return c.SetNoDelay(true) }, inet.IPPROTO_TCP, inet.TCP_NODELAY, 1, true},
		{"SetKeepAlive(true)", func() error { return c.SetKeepAlive(true) }, socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1, true},
		{"SetKeepAlive(false)", func() error { return c.SetKeepAlive(false) }, socket.SOL_SOCKET, socket.SO_KEEPALIVE, 0, true},
		{"SetKeepAlivePeriod(1.5s) rounds up", func() error { return c.SetKeepAlivePeriod(1500 * time.Millisecond) }, inet.IPPROTO_TCP, inet.TCP_KEEPIDLE, 2, false},
		{"SetKeepAlivePeriod(0) is Go's 15s", func() error { return c.SetKeepAlivePeriod(0) }, inet.IPPROTO_TCP, inet.TCP_KEEPIDLE, 15, false},
		{"SetKeepAlivePeriod(-1) changes nothing", func() error { return c.SetKeepAlivePeriod(-1) }, inet.IPPROTO_TCP, inet.TCP_KEEPIDLE, 15, false},
		{"KeepAliveConfig Idle", func() error {
			return c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: 7 * time.Second, Interval: 3 * time.Second, Count: 4})
		}, inet.IPPROTO_TCP, inet.TCP_KEEPIDLE, 7, false},
		{"KeepAliveConfig Interval", nil, inet.IPPROTO_TCP, inet.TCP_KEEPINTVL, 3, false},
		{"KeepAliveConfig Count", nil, inet.IPPROTO_TCP, inet.TCP_KEEPCNT, 4, false},
		{"KeepAliveConfig Enable", nil, socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1, true},
		{"KeepAliveConfig zeros are Go's defaults", func() error {
			return c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Count: -1})
		}, inet.IPPROTO_TCP, inet.TCP_KEEPINTVL, 15, false},
		{"KeepAliveConfig negative Count is unchanged", nil, inet.IPPROTO_TCP, inet.TCP_KEEPCNT, 4, false},
		{"KeepAliveConfig disables", func() error {
			return c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: false, Idle: -1, Interval: -1, Count: -1})
		}, socket.SOL_SOCKET, socket.SO_KEEPALIVE, 0, true},
		{"SetReadBuffer", func() error { return c.SetReadBuffer(100000) }, socket.SOL_SOCKET, socket.SO_RCVBUF, 100000, false},
		{"SetWriteBuffer", func() error { return c.SetWriteBuffer(50000) }, socket.SOL_SOCKET, socket.SO_SNDBUF, 50000, false},
	}
	for _, tt := range tests {
		if tt.set != nil {
			if err := tt.set(); err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
		}
		got := getInt(t, c, tt.level, tt.opt)
		if tt.wantBoolean && on(got) != on(tt.want) || !tt.wantBoolean && got != tt.want {
			t.Errorf("%s: option reads %d, want %d", tt.name, got, tt.want)
		}
	}

	lingers := []struct {
		sec  int
		want socket.Linger
	}{
		{0, socket.Linger{Onoff: 1, Linger: 0}},
		{5, socket.Linger{Onoff: 1, Linger: 5}},
		{-1, socket.Linger{Onoff: 0}},
	}
	for _, tt := range lingers {
		if err := c.SetLinger(tt.sec); err != nil {
			t.Errorf("SetLinger(%d): %v", tt.sec, err)
			continue
		}
		got := getLinger(t, c)
		if (got.Onoff != 0) != (tt.want.Onoff != 0) || tt.want.Onoff != 0 && got.Linger != tt.want.Linger {
			t.Errorf("SetLinger(%d): SO_LINGER reads %+v, want %+v", tt.sec, got, tt.want)
		}
	}
	if err := c.SetLinger(70000); !errors.Is(err, syscall.EDOM) {
		t.Errorf("SetLinger(70000): %v, want EDOM (FreeBSD's limit is 65535 s)", err)
	}
}

// The TCP setters on other sockets fail with the protocol's errno, and
// every setter after Close with net.ErrClosed, in Go's error shape.
func TestTCPOptionsErrors(t *testing.T) {
	st := bsdnet.NewStack()
	defer st.Close()
	e := env{"bsdnet", st, func(n string) string { return "/" + n }}
	uc, _, _ := e.pair(t, "unix")
	u := uc.(*bsdnet.Conn)
	if err := u.SetNoDelay(true); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("SetNoDelay on a unix socket: %v, want EINVAL (PF_LOCAL has no IPPROTO_TCP)", err)
	} else {
		checkOpError(t, err, "set")
	}
	if err := u.SetReadBuffer(4096); err != nil {
		t.Errorf("SetReadBuffer on a unix socket: %v", err)
	}
	c, _ := tcpPair(t, st, "127.0.0.1:0")
	c.Close()
	setters := map[string]func() error{
		"SetNoDelay":         func() error { return c.SetNoDelay(false) },
		"SetKeepAlive":       func() error { return c.SetKeepAlive(true) },
		"SetKeepAlivePeriod": func() error { return c.SetKeepAlivePeriod(time.Second) },
		"SetKeepAliveConfig": func() error { return c.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true}) },
		"SetLinger":          func() error { return c.SetLinger(0) },
		"SetReadBuffer":      func() error { return c.SetReadBuffer(1 << 16) },
		"SetWriteBuffer":     func() error { return c.SetWriteBuffer(1 << 16) },
	}
	for name, set := range setters {
		err := set()
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s after Close: %v, want net.ErrClosed", name, err)
			continue
		}
		checkOpError(t, err, "set")
	}
}

// SetLinger(0) then Close resets the connection: the peer's Read fails
// with ECONNRESET rather than reading end of file, and data the closer
// had not sent is discarded.
func TestTCPLingerZeroResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, s, _ := wirePair(t, 1, link.Faults{Delay: 10 * time.Millisecond})
		if err := c.SetLinger(0); err != nil {
			t.Fatal(err)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := s.Read(make([]byte, 10))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("peer's Read after SetLinger(0) and Close: %v, want ECONNRESET", err)
		}
		checkOpError(t, err, "read")

		// The control: the default linger closes gracefully (end of file).
		c2, s2, _ := wirePair(t, 2, link.Faults{Delay: 10 * time.Millisecond})
		c2.Close()
		if n, err := s2.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Fatalf("peer's Read after a plain Close: %d, %v, want io.EOF", n, err)
		}
	})
}

// Keepalive with a dead peer (the wire cut) drops the connection after
// Idle + Count×Interval of silence: a blocked Read fails with ETIMEDOUT. A
// live peer answers the probes and the connection stays up, and without
// keepalive a dead peer goes unnoticed. All on virtual time.
func TestTCPKeepAliveDeadPeer(t *testing.T) {
	cfg := net.KeepAliveConfig{Enable: true, Idle: 10 * time.Second, Interval: 5 * time.Second, Count: 3}
	tests := []struct {
		name      string
		keepalive bool
		cut       bool
		wantErr   error // errors.Is target of the blocked Read
	}{
		{"dead peer, keepalive", true, true, syscall.ETIMEDOUT},
		{"live peer, keepalive", true, false, nil},
		{"dead peer, no keepalive", false, true, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, _, w := wirePair(t, uint64(10+i), link.Faults{Delay: time.Millisecond})
				if tt.keepalive {
					if err := c.SetKeepAliveConfig(cfg); err != nil {
						t.Fatal(err)
					}
				}
				if tt.cut {
					w.Cut()
				}
				start := time.Now()
				// An hour of deadline: far past when keepalive gives up.
				c.SetReadDeadline(start.Add(time.Hour))
				_, err := c.Read(make([]byte, 1))
				took := time.Since(start)
				t.Logf("Read returned after %v of virtual time: %v", took, err)
				if tt.wantErr != nil {
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("Read: %v, want %v", err, tt.wantErr)
					}
					checkOpError(t, err, "read")
					// Probes at 10 s, 15 s and 20 s go unanswered; the
					// drop comes one interval after the last.
					want := cfg.Idle + time.Duration(cfg.Count)*cfg.Interval
					if took < want || took > want+cfg.Interval {
						t.Errorf("dropped after %v, want %v (idle + count × interval)", took, want)
					}
					return
				}
				checkTimeout(t, err)
				if took != time.Hour {
					t.Errorf("Read returned after %v, want at its 1h deadline", took)
				}
			})
		})
	}
}

// Nagle's algorithm holds a small segment while another is unacknowledged;
// SetNoDelay(true) sends it at once. Across a wire with 50 ms each way, the
// second of two 1-byte writes arrives with the first without delay, and
// only after a round trip (at least) with Nagle.
func TestTCPNoDelay(t *testing.T) {
	const delay = 50 * time.Millisecond
	for _, noDelay := range []bool{true, false} {
		t.Run(map[bool]string{true: "nodelay", false: "nagle"}[noDelay], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, s, _ := wirePair(t, 20, link.Faults{Delay: delay})
				if err := c.SetNoDelay(noDelay); err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				c.Write([]byte("a"))
				c.Write([]byte("b"))
				got, buf := 0, make([]byte, 2)
				for got < 2 {
					n, err := s.Read(buf[got:])
					if err != nil {
						t.Fatal(err)
					}
					got += n
				}
				took := time.Since(start)
				t.Logf("both bytes in after %v of virtual time", took)
				if noDelay && took != delay {
					t.Errorf("both bytes arrived after %v, want %v (one crossing)", took, delay)
				}
				if !noDelay && took < 3*delay {
					t.Errorf("second byte arrived after %v, want at least %v (held for the first's ACK)", took, 3*delay)
				}
			})
		})
	}
}

// SetReadBuffer and SetWriteBuffer reach SO_RCVBUF and SO_SNDBUF on every
// kind of socket that Go's net gives them to: TCP, unix and UDP
// connections and UDP PacketConns.
func TestSetBuffers(t *testing.T) {
	st := bsdnet.NewStack()
	defer st.Close()
	tc, _ := tcpPair(t, st, "127.0.0.1:0")
	uc, _ := streamPair(t, st, "unix", "b")
	dc, err := st.Dial("udp", "127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	pc, err := st.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	type buffered interface {
		SetReadBuffer(int) error
		SetWriteBuffer(int) error
		Socket() *socket.Socket
	}
	for name, c := range map[string]buffered{
		"tcp": tc, "unix": uc, "udp": dc.(*bsdnet.Conn), "udp PacketConn": pc.(*bsdnet.PacketConn),
	} {
		if err := c.SetReadBuffer(12345); err != nil {
			t.Errorf("%s: SetReadBuffer: %v", name, err)
		}
		if err := c.SetWriteBuffer(23456); err != nil {
			t.Errorf("%s: SetWriteBuffer: %v", name, err)
		}
		if v, _ := c.Socket().GetOptInt(socket.SOL_SOCKET, socket.SO_RCVBUF); v != 12345 {
			t.Errorf("%s: SO_RCVBUF reads %d, want 12345", name, v)
		}
		if v, _ := c.Socket().GetOptInt(socket.SOL_SOCKET, socket.SO_SNDBUF); v != 23456 {
			t.Errorf("%s: SO_SNDBUF reads %d, want 23456", name, v)
		}
	}
}
