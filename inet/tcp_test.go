package inet

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/socket"
)

func famOf(addr string) int {
	if addr[0] == '[' {
		return socket.AF_INET6
	}
	return socket.AF_INET
}

func (h *host) tcpListen(addr string, backlog int) *socket.Socket {
	h.t.Helper()
	ls := h.socket(famOf(addr), socket.SOCK_STREAM, 0)
	if err := ls.Bind(sa(addr)); err != nil {
		h.t.Fatalf("bind %s: %v", addr, err)
	}
	if err := ls.Listen(backlog); err != nil {
		h.t.Fatalf("listen: %v", err)
	}
	return ls
}

func (h *host) tcpDial(addr string) (*socket.Socket, error) {
	h.t.Helper()
	so := h.socket(famOf(addr), socket.SOCK_STREAM, IPPROTO_TCP)
	if err := so.Connect(sa(addr)); err != nil {
		return so, err
	}
	return so, so.WaitConnected(bg)
}

func tcpAccept(t *testing.T, ls *socket.Socket) *socket.Socket {
	t.Helper()
	so, err := ls.ListenDequeue(bg, 0)
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	t.Cleanup(func() { so.Close() })
	return so
}

func write(so *socket.Socket, b []byte, flags int) (int, error) {
	u := socket.UioBuf(b)
	err := so.Send(bg, nil, &u, nil, nil, flags)
	return len(b) - u.Resid, err
}

func read(so *socket.Socket, b []byte, flags int) (int, error) {
	u := socket.UioBuf(b)
	f := flags
	err := so.Receive(bg, nil, &u, nil, nil, &f)
	return len(b) - u.Resid, err
}

// tcpConn sets up a connection: client on c, server on s (listening on
// addr).
func tcpConn(t *testing.T, c, s *host, addr string) (cli, srv *socket.Socket) {
	t.Helper()
	ls := s.tcpListen(addr, 5)
	cli, err := c.tcpDial(addr)
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	srv = tcpAccept(t, ls)
	return cli, srv
}

func TestTCPHandshakeAndEcho(t *testing.T) {
	for _, tc := range []struct {
		name string
		wire bool
		addr string
	}{
		{"loopback4", false, "127.0.0.1:80"},
		{"loopback6", false, "[::1]:80"},
		{"cable4", true, "10.0.0.2:80"},
		{"cable6", true, "[fd00::2]:80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a, b *host
			if tc.wire {
				a, b, _ = pair(t, 1500)
			} else {
				a = newHost(t, 1)
				b = a
			}
			cli, srv := tcpConn(t, a, b, tc.addr)
			if _, err := write(cli, []byte("hello"), 0); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 100)
			n, err := read(srv, buf, 0)
			if err != nil || string(buf[:n]) != "hello" {
				t.Fatalf("server read %q, %v", buf[:n], err)
			}
			if _, err := write(srv, []byte("world"), 0); err != nil {
				t.Fatal(err)
			}
			n, err = read(cli, buf, 0)
			if err != nil || string(buf[:n]) != "world" {
				t.Fatalf("client read %q, %v", buf[:n], err)
			}
			pa, err := srv.Peeraddr()
			if err != nil {
				t.Fatal(err)
			}
			ca, _ := cli.Sockaddr()
			if socket.FormatSockaddr(pa) != socket.FormatSockaddr(ca) {
				t.Errorf("server's peer %v, client's name %v", pa, ca)
			}
			if a.s.Stats.TCP.Connects.Load() == 0 || b.s.Stats.TCP.Accepts.Load() == 0 {
				t.Errorf("counters: connects %d accepts %d", a.s.Stats.TCP.Connects.Load(), b.s.Stats.TCP.Accepts.Load())
			}
		})
	}
}

func TestTCPConnectRefused(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:81", "[::1]:81"} {
		h := newHost(t, 1)
		_, err := h.tcpDial(addr)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("%s: connect: %v, want ECONNREFUSED", addr, err)
		}
	}
	a, _, _ := pair(t, 1500)
	if _, err := a.tcpDial("10.0.0.2:81"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("over cable: %v", err)
	}
}

// transferBothWays runs transfer from a to b and from b to a at once, n
// bytes each way, with seeds seed and seed+1.
func transferBothWays(t *testing.T, a, b *socket.Socket, n int, seed uint64) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); transfer(t, b, a, n, seed+1) }()
	transfer(t, a, b, n, seed)
	wg.Wait()
}

// transfer sends n bytes of seeded random data from src to dst in random
// write sizes, reads them in random sizes, and checks them.
func transfer(t *testing.T, src, dst *socket.Socket, n int, seed uint64) {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	var wg sync.WaitGroup
	var werr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		wr := rand.New(rand.NewPCG(seed, 2))
		for off := 0; off < n; {
			k := min(n-off, 1+wr.IntN(100000))
			w, err := write(src, data[off:off+k], 0)
			off += w
			if err != nil {
				werr = err
				return
			}
		}
	}()
	got := make([]byte, 0, n)
	rr := rand.New(rand.NewPCG(seed, 3))
	buf := make([]byte, 200000)
	for len(got) < n {
		k, err := read(dst, buf[:1+rr.IntN(len(buf)-1)], 0)
		if err != nil {
			t.Fatalf("read after %d bytes: %v", len(got), err)
		}
		if k == 0 {
			t.Fatalf("EOF after %d bytes", len(got))
		}
		got = append(got, buf[:k]...)
	}
	wg.Wait()
	if werr != nil {
		t.Fatalf("write: %v", werr)
	}
	if !bytes.Equal(got, data) {
		for i := range got {
			if got[i] != data[i] {
				t.Fatalf("data differ at byte %d of %d", i, n)
			}
		}
	}
}

func TestTCPBulkBothWays(t *testing.T) {
	for _, tc := range []struct {
		name string
		wire bool
		addr string
	}{
		{"loopback4", false, "127.0.0.1:80"},
		{"cable6", true, "[fd00::2]:80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var a, b *host
			if tc.wire {
				a, b, _ = pair(t, 1500)
			} else {
				a = newHost(t, 1)
				b = a
			}
			cli, srv := tcpConn(t, a, b, tc.addr)
			transferBothWays(t, cli, srv, 16<<20, 7)
		})
	}
}

func TestTCPGracefulClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := pair(t, 1500)
		cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
		if _, err := write(cli, []byte("bye"), 0); err != nil {
			t.Fatal(err)
		}
		if err := cli.Shutdown(socket.SHUT_WR); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 10)
		n, err := read(srv, buf, socket.MSG_WAITALL)
		if err != nil || string(buf[:n]) != "bye" {
			t.Fatalf("read %q %v", buf[:n], err)
		}
		if n, err := read(srv, buf, 0); n != 0 || err != nil {
			t.Fatalf("read after FIN: %d %v, want 0 nil", n, err)
		}
		// Half-closed: the server still sends.
		if _, err := write(srv, []byte("late"), 0); err != nil {
			t.Fatal(err)
		}
		n, err = read(cli, buf, 0)
		if err != nil || string(buf[:n]) != "late" {
			t.Fatalf("client read %q %v", buf[:n], err)
		}
		srv.Close()
		if n, err := read(cli, buf, 0); n != 0 || err != nil {
			t.Fatalf("client read after FIN: %d %v", n, err)
		}
		cli.Close()
		synctest.Wait()
		// The client closed first: it sits in TIME_WAIT for 2*MSL.
		if got := a.s.TCPConnections(); got != 1 {
			t.Errorf("client connections after close: %d, want 1 (TIME_WAIT)", got)
		}
		if got := b.s.TCPConnections(); got != 1 { // the listener
			t.Errorf("server connections after close: %d, want 1", got)
		}
		time.Sleep(2*a.s.TCPTunables().MSL + time.Second)
		if got := a.s.TCPConnections(); got != 0 {
			t.Errorf("client connections after 2MSL: %d", got)
		}
		if got := a.v.Stats.Sockets.Load(); got != 0 {
			t.Errorf("client sockets: %d", got)
		}
	})
}

func TestTCPCloseBothWithUnsentData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := pair(t, 1500)
		ls := b.tcpListen("10.0.0.2:80", 5)
		cli, err := a.tcpDial("10.0.0.2:80")
		if err != nil {
			t.Fatal(err)
		}
		srv := tcpAccept(t, ls)
		data := bytes.Repeat([]byte("x"), 30000)
		if _, err := write(cli, data, 0); err != nil {
			t.Fatal(err)
		}
		cli.Close() // data still in flight or queued; the FIN follows it
		got := make([]byte, 0, len(data))
		buf := make([]byte, 4096)
		for {
			n, err := read(srv, buf, 0)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
			got = append(got, buf[:n]...)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("got %d bytes, want %d", len(got), len(data))
		}
		srv.Close()
		ls.Close()
		time.Sleep(2*a.s.TCPTunables().MSL + time.Second)
		synctest.Wait()
		if a.s.TCPConnections() != 0 || b.s.TCPConnections() != 0 {
			t.Errorf("connections left: %d %d", a.s.TCPConnections(), b.s.TCPConnections())
		}
	})
}

func TestTCPLingerZeroResets(t *testing.T) {
	h := newHost(t, 1)
	cli, srv := tcpConn(t, h, h, "127.0.0.1:80")
	l := socket.Linger{Onoff: 1, Linger: 0}
	if err := cli.SetOpt(&socket.Sockopt{Level: socket.SOL_SOCKET, Name: socket.SO_LINGER, Val: l.Bytes(), Valsize: socket.LingerLen}); err != nil {
		t.Fatal(err)
	}
	cli.Close()
	buf := make([]byte, 10)
	if _, err := read(srv, buf, 0); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read: %v, want ECONNRESET", err)
	}
	if h.s.Stats.TCP.SndRst.Load() == 0 {
		t.Error("no RST counted")
	}
}

func TestTCPListenBacklog(t *testing.T) {
	h := newHost(t, 1)
	ls := h.tcpListen("127.0.0.1:80", 2)
	var ok int
	for i := 0; i < 6; i++ {
		so := h.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
		so.SetNonblocking(true)
		if err := so.Connect(sa("127.0.0.1:80")); err != nil {
			t.Fatal(err)
		}
		if so.State()&socket.SS_ISCONNECTED != 0 {
			ok++
		}
	}
	qlen, _, qlimit := ls.ListenQueue()
	if qlimit != 2 || qlen != 4 { // sonewconn takes up to 1.5 times the backlog, plus one
		t.Errorf("qlen %d qlimit %d", qlen, qlimit)
	}
	if h.s.Stats.TCP.ListenDrop.Load() == 0 {
		t.Error("no listen drops counted")
	}
	for i := 0; i < qlen; i++ {
		tcpAccept(t, ls)
	}
}

func TestTCPSocketSemantics(t *testing.T) {
	h := newHost(t, 1)
	cli, srv := tcpConn(t, h, h, "127.0.0.1:80")
	buf := make([]byte, 10)
	if _, err := read(srv, buf, socket.MSG_DONTWAIT); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("empty read: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		n, err := read(srv, buf, socket.MSG_WAITALL)
		if err == nil && (n != 10 || string(buf) != "0123456789") {
			err = errors.New("wrong data " + string(buf[:n]))
		}
		done <- err
	}()
	write(cli, []byte("01234"), 0)
	time.Sleep(time.Millisecond)
	write(cli, []byte("56789"), 0)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// The peer's shutdown(SHUT_WR): reads return 0, writes still go.
	srv.Shutdown(socket.SHUT_WR)
	if n, err := read(cli, buf, 0); n != 0 || err != nil {
		t.Fatalf("read after SHUT_WR: %d %v", n, err)
	}
	if _, err := write(srv, []byte("x"), 0); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write after SHUT_WR: %v", err)
	}
	if _, err := write(cli, []byte("y"), 0); err != nil {
		t.Fatal(err)
	}
	if n, err := read(srv, buf, 0); n != 1 || err != nil {
		t.Fatalf("read: %d %v", n, err)
	}
	// Options.
	if err := cli.SetOptInt(IPPROTO_TCP, TCP_NODELAY, 1); err != nil {
		t.Fatal(err)
	}
	if v, _ := cli.GetOptInt(IPPROTO_TCP, TCP_NODELAY); v != 1 {
		t.Errorf("TCP_NODELAY %d", v)
	}
	if v, _ := cli.GetOptInt(IPPROTO_TCP, TCP_MAXSEG); v != 16384-40 {
		t.Errorf("TCP_MAXSEG %d", v)
	}
	if err := cli.SetOptInt(IPPROTO_TCP, 9999, 1); !errors.Is(err, syscall.ENOPROTOOPT) {
		t.Errorf("unknown option: %v", err)
	}
}

// dropAll makes a cable drop every frame while on is set, recording the
// virtual times of TCP segments from end 0.
type tap struct {
	mu    sync.Mutex
	drop  func(from int, tcp header.TCP) bool
	times []time.Duration // segments other than RSTs
	rsts  int
	start time.Time
}

func (tp *tap) hook(from int, frame []byte) bool {
	if len(frame) < 14 {
		return true
	}
	et := uint16(frame[12])<<8 | uint16(frame[13])
	var th header.TCP
	switch {
	case et == header.EtherTypeIPv4 && len(frame) >= 34 && frame[23] == header.ProtoTCP:
		hl := int(frame[14]&0xf) * 4
		th = header.TCP(frame[14+hl:])
	case et == header.EtherTypeIPv6 && len(frame) >= 54 && frame[20] == header.ProtoTCP:
		th = header.TCP(frame[54:])
	default:
		return true
	}
	if len(th) < header.TCPMinLen {
		return true
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if from == 0 && !tp.start.IsZero() {
		if th.Flags()&header.TCPFlagRst != 0 {
			tp.rsts++
			return false
		}
		tp.times = append(tp.times, time.Since(tp.start))
	}
	return tp.drop == nil || !tp.drop(from, th)
}

func TestTCPRetransmitBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, _, c := pair(t, 1500)
		tp := &tap{drop: func(int, header.TCP) bool { return true }, start: time.Now()}
		c.setHook(tp.hook)
		so := a.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
		if err := so.Connect(sa("10.0.0.2:80")); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err := so.WaitConnected(bg)
		if !errors.Is(err, syscall.ETIMEDOUT) {
			t.Fatalf("connect: %v, want ETIMEDOUT", err)
		}
		if d := time.Since(start); d != a.s.TCPTunables().KeepInit {
			t.Errorf("gave up after %v", d)
		}
		want := []time.Duration{0, 1, 3, 7, 15, 31, 63}
		tp.mu.Lock()
		defer tp.mu.Unlock()
		if len(tp.times) != len(want) {
			t.Fatalf("SYNs at %v", tp.times)
		}
		for i, w := range want {
			if tp.times[i] != w*time.Second {
				t.Errorf("SYN %d at %v, want %v", i, tp.times[i], w*time.Second)
			}
		}
	})
}

func TestTCPDataRetransmitBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, c := pair(t, 1500)
		cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
		_ = srv
		tp := &tap{drop: func(int, header.TCP) bool { return true }, start: time.Now()}
		c.setHook(tp.hook)
		write(cli, []byte("lost"), 0)
		buf := make([]byte, 10)
		_, err := read(cli, buf, 0)
		if !errors.Is(err, syscall.ETIMEDOUT) {
			t.Fatalf("read: %v, want ETIMEDOUT", err)
		}
		synctest.Wait() // the RST goes out after the reader is woken
		tp.mu.Lock()
		defer tp.mu.Unlock()
		if tp.rsts != 1 {
			t.Errorf("%d RSTs after the last retransmission, want 1", tp.rsts)
		}
		if len(tp.times) != 13 {
			t.Fatalf("%d transmissions: %v", len(tp.times), tp.times)
		}
		// Each gap doubles until the 64 s ceiling.
		for i := 2; i < len(tp.times); i++ {
			g0, g1 := tp.times[i-1]-tp.times[i-2], tp.times[i]-tp.times[i-1]
			if g1 != min(2*g0, 64*time.Second) {
				t.Errorf("gaps %v then %v", g0, g1)
			}
		}
	})
}

func TestTCPLossyTransfer(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		synctest.Test(t, func(t *testing.T) {
			a, b, c := pair(t, 1500)
			cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
			r := rand.New(rand.NewPCG(seed, 99))
			var mu sync.Mutex
			c.setHook(func(int, []byte) bool {
				mu.Lock()
				defer mu.Unlock()
				return r.IntN(100) >= 5
			})
			transfer(t, cli, srv, 4<<20, seed)
			if a.s.Stats.TCP.SndRexmitPack.Load() == 0 {
				t.Error("no retransmissions")
			}
			t.Logf("seed %d: rexmt %d fastrexmt %d timeouts %d, %v virtual", seed,
				a.s.Stats.TCP.SndRexmitPack.Load(), a.s.Stats.TCP.FastRexmit.Load(), a.s.Stats.TCP.RexmtTimeo.Load(), time.Since(time.Unix(946684800, 0)))
		})
	}
}

func TestTCPZeroWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := pair(t, 1500)
		cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
		data := make([]byte, 200000)
		for i := range data {
			data[i] = byte(i * 7)
		}
		sent := 0
		for sent < len(data) {
			n, err := write(cli, data[sent:], socket.MSG_DONTWAIT)
			sent += n
			if errors.Is(err, syscall.EWOULDBLOCK) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(2 * time.Minute)
		if a.s.Stats.TCP.SndProbe.Load() == 0 {
			t.Errorf("no window probes sent")
		}
		if a.s.Stats.TCP.Drops.Load() != 0 {
			t.Fatal("connection dropped")
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for sent < len(data) {
				n, err := write(cli, data[sent:], 0)
				sent += n
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
		got := make([]byte, len(data))
		n, err := read(srv, got, socket.MSG_WAITALL)
		if err != nil || n != len(data) || !bytes.Equal(got, data) {
			t.Fatalf("read %d, %v", n, err)
		}
		wg.Wait()
	})
}

func TestTCPKeepalive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, c := pair(t, 1500)
		cli, _ := tcpConn(t, a, b, "10.0.0.2:80")
		cli.SetOptInt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
		cli.SetOptInt(IPPROTO_TCP, TCP_KEEPIDLE, 10)
		cli.SetOptInt(IPPROTO_TCP, TCP_KEEPINTVL, 2)
		cli.SetOptInt(IPPROTO_TCP, TCP_KEEPCNT, 3)
		// Answered probes keep the connection.
		time.Sleep(time.Minute)
		if a.s.Stats.TCP.KeepProbe.Load() == 0 || a.s.Stats.TCP.KeepDrops.Load() != 0 {
			t.Fatalf("probes %d drops %d", a.s.Stats.TCP.KeepProbe.Load(), a.s.Stats.TCP.KeepDrops.Load())
		}
		c.setHook(func(int, []byte) bool { return false })
		start := time.Now()
		buf := make([]byte, 1)
		if _, err := read(cli, buf, 0); !errors.Is(err, syscall.ETIMEDOUT) {
			t.Fatalf("read: %v, want ETIMEDOUT", err)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("dropped after %v", d)
		}
	})
}

func TestTCPSimultaneousOpen(t *testing.T) {
	a, b, c := pair(t, 1500)
	first := true
	c.setHook(func(from int, frame []byte) bool {
		if from == 0 && first && len(frame) > 60 {
			first = false
			return false // a's SYN is lost; b's SYN meets a in SYN_SENT
		}
		return true
	})
	sa1 := a.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
	sb1 := b.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
	sa1.Bind(sa("10.0.0.1:5000"))
	sb1.Bind(sa("10.0.0.2:6000"))
	if err := sa1.Connect(sa("10.0.0.2:6000")); err != nil {
		t.Fatal(err)
	}
	if err := sb1.Connect(sa("10.0.0.1:5000")); err != nil {
		t.Fatal(err)
	}
	if err := sa1.WaitConnected(bg); err != nil {
		t.Fatal(err)
	}
	if err := sb1.WaitConnected(bg); err != nil {
		t.Fatal(err)
	}
	write(sa1, []byte("hi"), 0)
	buf := make([]byte, 2)
	if n, err := read(sb1, buf, 0); n != 2 || err != nil {
		t.Fatalf("read %d %v", n, err)
	}
}

func (c *cable) setHook(f func(from int, frame []byte) bool) {
	c.mu.Lock()
	c.hook = f
	c.mu.Unlock()
}

// TestTCPFaultyWire moves data both ways over a wire that drops,
// duplicates, delays (reordering) and corrupts frames, for several seeds.
func TestTCPFaultyWire(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		synctest.Test(t, func(t *testing.T) {
			a, b, c := pair(t, 1500)
			cli, srv := tcpConn(t, a, b, "[fd00::2]:80")
			r := rand.New(rand.NewPCG(seed, 7))
			var mu sync.Mutex
			c.setHook(func(from int, frame []byte) bool {
				mu.Lock()
				x := r.IntN(100)
				delay := time.Duration(1+r.IntN(20)) * time.Millisecond
				pos := r.IntN(len(frame))
				mu.Unlock()
				peer := c.ends[1-from]
				switch {
				case x < 3: // lost
					return false
				case x < 5: // duplicated, the copy late
					time.AfterFunc(delay, func() { peer.Input(peer.Pool.CopyIn(0, frame, 0)) })
				case x < 8: // delayed: overtaken by later frames
					time.AfterFunc(delay, func() { peer.Input(peer.Pool.CopyIn(0, frame, 0)) })
					return false
				case x < 9: // corrupted: the checksum catches it
					frame[pos] ^= 0x40
					time.AfterFunc(delay, func() { peer.Input(peer.Pool.CopyIn(0, frame, 0)) })
					return false
				}
				return true
			})
			transferBothWays(t, cli, srv, 1<<20, seed)
			cli.Close()
			srv.Close()
			time.Sleep(5 * time.Minute)
			if a.s.TCPConnections() != 0 || b.s.TCPConnections() != 1 {
				t.Errorf("connections left: %d %d", a.s.TCPConnections(), b.s.TCPConnections())
			}
		})
	}
}

// TestTCPFinWait2Timeout: a peer that never closes its side leaves a
// closed socket's connection in FIN_WAIT_2 only until the timeout.
func TestTCPFinWait2Timeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := pair(t, 1500)
		cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
		_ = srv
		cli.Close()
		synctest.Wait()
		if a.s.TCPConnections() != 1 {
			t.Fatalf("connections %d", a.s.TCPConnections())
		}
		time.Sleep(a.s.TCPTunables().FinWait2Timeout + time.Second)
		if a.s.TCPConnections() != 0 {
			t.Fatalf("connections after FIN_WAIT_2 timeout: %d", a.s.TCPConnections())
		}
		// The server's late data gets a RST: the connection is gone.
		write(srv, []byte("late"), 0)
		synctest.Wait()
		buf := make([]byte, 4)
		if _, err := read(srv, buf, 0); !errors.Is(err, syscall.ECONNRESET) {
			t.Fatalf("read: %v", err)
		}
	})
}

func TestTCPUrgentData(t *testing.T) {
	a, b, _ := pair(t, 1500)
	cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
	buf := make([]byte, 10)
	if _, err := read(srv, buf, socket.MSG_OOB); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("MSG_OOB with none: %v", err)
	}
	write(cli, []byte("ab"), 0)
	if _, err := write(cli, []byte("c"), socket.MSG_OOB); err != nil {
		t.Fatal(err)
	}
	write(cli, []byte("de"), 0)
	n, err := read(srv, buf[:1], socket.MSG_OOB)
	if err != nil || n != 1 || buf[0] != 'c' {
		t.Fatalf("MSG_OOB read %q %v", buf[:n], err)
	}
	if _, err := read(srv, buf[:1], socket.MSG_OOB); !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("second MSG_OOB read: %v", err)
	}
	// A read stops at the mark, which is then reported; the next read
	// goes on past it.
	n, err = read(srv, buf, 0)
	if err != nil || string(buf[:n]) != "ab" {
		t.Fatalf("data before the mark %q %v", buf[:n], err)
	}
	srv.Rcv.Lock()
	atMark := srv.Rcv.StateLocked()&socket.SBS_RCVATMARK != 0
	srv.Rcv.Unlock()
	if !atMark {
		t.Error("not at the mark after reading up to it")
	}
	n, err = read(srv, buf, 0)
	if err != nil || string(buf[:n]) != "de" {
		t.Fatalf("data after the mark %q %v", buf[:n], err)
	}
}
