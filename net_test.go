package bsdnet_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/nettest"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/socket"
)

// The net.Conn adapters pass x/net's conformance tests for net.Conn.
func TestNettestConn(t *testing.T) {
	for _, nw := range []string{"unix", "unixpacket", "tcp4", "tcp6"} {
		t.Run(nw, func(t *testing.T) {
			nettest.TestConn(t, func() (c1, c2 net.Conn, stop func(), err error) {
				st := bsdnet.NewStack()
				addr := map[string]string{"tcp4": "127.0.0.1:8080", "tcp6": "[::1]:8080"}[nw]
				if addr == "" {
					addr = "/nettest.sock"
				}
				l, err := st.Listen(nw, addr)
				if err != nil {
					return nil, nil, nil, err
				}
				defer l.Close()
				c1, err = st.Dial(nw, addr)
				if err != nil {
					return nil, nil, nil, err
				}
				c2, err = l.Accept()
				if err != nil {
					return nil, nil, nil, err
				}
				stop = func() {
					c1.Close()
					c2.Close()
					st.Close()
				}
				return c1, c2, stop, nil
			})
		})
	}
}

// A TCP dial to a port nobody listens on is refused, shaped as Go's.
func TestTCPRefused(t *testing.T) {
	st := bsdnet.NewStack()
	defer st.Close()
	for _, nw := range []string{"tcp", "tcp4", "tcp6"} {
		addr := "127.0.0.1:80"
		if nw == "tcp6" {
			addr = "[::1]:80"
		}
		_, err := st.Dial(nw, addr)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("dial %s: %v, want ECONNREFUSED", nw, err)
		}
		checkOpError(t, err, "dial")
	}
}

// net/http runs unchanged across two stacks joined by a wire with delay:
// keep-alive connections, a streamed body, concurrent requests.
func TestHTTPAcrossStacks(t *testing.T) {
	n := bsdnet.NewNetwork(3)
	defer n.Close()
	a, b := n.Host("a"), n.Host("b")
	if _, err := n.Connect(a, "10.0.0.1/24", b, "10.0.0.2/24", link.Faults{Delay: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	l, err := b.Listen("tcp", "10.0.0.2:80")
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("bsdnet "), 300000) // 2.1 MB
	mux := http.NewServeMux()
	mux.HandleFunc("/hello", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello %s", r.URL.Query().Get("n"))
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) { w.Write(big) })
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DialContext: a.DialContext}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(fmt.Sprintf("http://10.0.0.2/hello?n=%d", i))
			if err != nil {
				errs <- err
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || string(body) != fmt.Sprintf("hello %d", i) {
				errs <- fmt.Errorf("request %d: %q %v", i, body, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	resp, err := client.Get("http://10.0.0.2/big")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(body, big) {
		t.Fatalf("big body: %d bytes, %v", len(body), err)
	}
}

// Errors nest as in Go's net: *net.OpError, *os.SyscallError, the errno.
func TestErrorShape(t *testing.T) {
	st := bsdnet.NewStack()
	defer st.Close()
	c, s, _ := env{"bsdnet", st, func(n string) string { return "/" + n }}.pair(t, "unix")
	c.Write([]byte("unread")) // s closes with data unread
	s.Close()
	_, err := c.Write([]byte("x"))
	oe := checkOpError(t, err, "write")
	if oe.Net != "unix" || oe.Addr.String() != "/s" {
		t.Errorf("OpError Net %q Addr %v", oe.Net, oe.Addr)
	}
	se, ok := oe.Err.(*os.SyscallError)
	if !ok || se.Syscall != "write" {
		t.Fatalf("inner %#v, want *os.SyscallError from write", oe.Err)
	}
	if _, ok := se.Err.(syscall.Errno); !ok {
		t.Fatalf("innermost %#v, want syscall.Errno", se.Err)
	}
	if !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("write to a closed peer: %v", err)
	}
}

func TestAddressParsing(t *testing.T) {
	st := bsdnet.NewStack()
	defer st.Close()
	_, err := st.Dial("udp", "example.com:53")
	var de *net.DNSError
	if !errors.As(err, &de) || !de.IsNotFound || de.Name != "example.com" {
		t.Errorf("dial a name: %#v, want a no such host *net.DNSError", err)
	}
	c, err := st.Dial("udp", "localhost:53")
	if err != nil {
		t.Fatal(err)
	}
	if ra := c.RemoteAddr().String(); ra != "127.0.0.1:53" {
		t.Errorf("localhost is %s", ra)
	}
	c.Close()
	c, err = st.Dial("udp6", "localhost:53")
	if err != nil {
		t.Fatal(err)
	}
	if ra := c.RemoteAddr().String(); ra != "[::1]:53" {
		t.Errorf("localhost for udp6 is %s", ra)
	}
	c.Close()
	if _, err := st.Dial("udp4", "[::1]:53"); err == nil {
		t.Error("udp4 to an IPv6 address")
	}
	if _, err := st.Dial("udp", "127.0.0.1:http"); err == nil {
		t.Error("service names need a resolver")
	}
	if _, err := st.Dial("unix", ""); err == nil {
		t.Error("dial unix with no path")
	}
	d := bsdnet.Dialer{Stack: st, LocalAddr: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4242}}
	c, err = d.Dial("udp", "127.0.0.1:53")
	if err != nil {
		t.Fatal(err)
	}
	if la := c.LocalAddr().String(); la != "127.0.0.1:4242" {
		t.Errorf("Dialer.LocalAddr bound %s", la)
	}
	c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.DialContext(ctx, "udp", "127.0.0.1:53"); !errors.Is(err, context.Canceled) {
		t.Errorf("dial with a cancelled context: %v", err)
	}
}

// Credentials: a Dialer's Cred authorizes its socket.
func TestDialerCred(t *testing.T) {
	st := bsdnet.NewStack()
	defer st.Close()
	l, err := st.Listen("unix", "/c")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	d := bsdnet.Dialer{Stack: st, Cred: socket.UserCred(1000, 1000)}
	c, err := d.Dial("unix", "/c")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if cr := c.(*bsdnet.Conn).Socket().Cred(); cr.Uid != 1000 {
		t.Errorf("socket credential %+v", cr)
	}
}

// UDP echo between two hosts of a Network, through PacketConn.
func TestUDPEchoTwoHosts(t *testing.T) {
	n := bsdnet.NewNetwork(1)
	defer n.Close()
	a, b := n.Host("a"), n.Host("b")
	if _, err := n.Connect(a, "10.0.0.1/24, fd00::1/64", b, "10.0.0.2/24, fd00::2/64", link.Faults{}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ nw, listen, dial string }{
		{"udp4", "10.0.0.2:7", "10.0.0.2:7"},
		{"udp6", "[fd00::2]:7", "[fd00::2]:7"},
		{"udp", ":7", "10.0.0.2:7"},
		{"udp", ":8", "[fd00::2]:8"},
	} {
		srv, err := b.ListenPacket(tc.nw, tc.listen)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			buf := make([]byte, 1500)
			for {
				n, from, err := srv.ReadFrom(buf)
				if err != nil {
					done <- err
					return
				}
				if _, err := srv.WriteTo(buf[:n], from); err != nil {
					done <- err
					return
				}
			}
		}()
		cli, err := a.ListenPacket(tc.nw, "")
		if tc.nw == "udp" {
			cli, err = a.ListenPacket("udp", ":0")
		}
		if err != nil {
			t.Fatal(err)
		}
		dst, err := net.ResolveUDPAddr("udp", tc.dial)
		if err != nil {
			t.Fatal(err)
		}
		cli.SetReadDeadline(time.Now().Add(5 * time.Second))
		for i := range 3 {
			msg := []byte{'p', 'i', 'n', 'g', byte('0' + i)}
			if _, err := cli.WriteTo(msg, dst); err != nil {
				t.Fatalf("%s: WriteTo: %v", tc.nw, err)
			}
			buf := make([]byte, 100)
			n, from, err := cli.ReadFrom(buf)
			if err != nil {
				t.Fatalf("%s: ReadFrom: %v", tc.nw, err)
			}
			if !bytes.Equal(buf[:n], msg) {
				t.Errorf("%s: echo %q, want %q", tc.nw, buf[:n], msg)
			}
			if fa := from.(*net.UDPAddr); !fa.IP.Equal(dst.IP) || fa.Port != dst.Port {
				t.Errorf("%s: reply from %v, want %v", tc.nw, from, dst)
			}
		}
		cli.Close()
		srv.Close()
		if err := <-done; !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s: server ended with %v", tc.nw, err)
		}
	}
}

// ReadMsg and WriteMsg carry control messages in FreeBSD's layout.
func TestPacketConnMsg(t *testing.T) {
	st := bsdnet.NewStack()
	defer st.Close()
	a, err := st.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	pa := a.(*bsdnet.PacketConn)
	// IP_RECVDSTADDR (7) on IPPROTO_IP: the destination comes as control.
	if err := pa.Socket().SetOptInt(0, 7, 1); err != nil {
		t.Fatal(err)
	}
	b, _ := st.ListenPacket("udp4", "127.0.0.1:0")
	defer b.Close()
	pb := b.(*bsdnet.PacketConn)
	n, oobn, err := pb.WriteMsg([]byte("hello, world"), nil, a.LocalAddr())
	if n != 12 || oobn != 0 || err != nil {
		t.Fatalf("WriteMsg: %d %d %v", n, oobn, err)
	}
	buf, oob := make([]byte, 5), make([]byte, 64)
	n, oobn, flags, from, err := pa.ReadMsg(buf, oob)
	if err != nil || n != 5 || from.String() != b.LocalAddr().String() {
		t.Fatalf("ReadMsg: %d %v %v", n, from, err)
	}
	if flags&socket.MSG_TRUNC == 0 {
		t.Errorf("flags %#x lack MSG_TRUNC", flags)
	}
	msgs, err := socket.ParseCmsgs(oob[:oobn])
	if err != nil || len(msgs) != 1 || msgs[0].Type != 7 || !bytes.Equal(msgs[0].Data, []byte{127, 0, 0, 1}) {
		t.Errorf("control %+v %v, want IP_RECVDSTADDR 127.0.0.1", msgs, err)
	}
	// Too little room for control is MSG_CTRUNC.
	pb.WriteTo([]byte("x"), a.LocalAddr())
	_, oobn, flags, _, err = pa.ReadMsg(buf, make([]byte, 4))
	if err != nil || oobn != 0 || flags&socket.MSG_CTRUNC == 0 {
		t.Errorf("short oob: oobn %d flags %#x %v", oobn, flags, err)
	}
	// A malformed control buffer is EINVAL.
	if _, _, err := pb.WriteMsg([]byte("x"), []byte{1, 2, 3}, a.LocalAddr()); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("malformed oob: %v", err)
	}
}

// Deadlines run on the stack's clock: in a synctest bubble, virtual time.
func TestDeadlineSynctest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := bsdnet.NewStack()
		defer st.Close()
		c, _, _ := env{"bsdnet", st, func(n string) string { return "/" + n }}.pair(t, "unix")
		start := time.Now()
		c.SetReadDeadline(start.Add(time.Hour))
		_, err := c.Read(make([]byte, 1))
		checkTimeout(t, err)
		if d := time.Since(start); d != time.Hour {
			t.Errorf("timed out after %v of virtual time, want 1h", d)
		}
	})
}

// A read that is the only thing blocked in a bubble is durably blocked.
func TestReadDurablyBlocked(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := bsdnet.NewStack()
		defer st.Close()
		c, s, _ := env{"bsdnet", st, func(n string) string { return "/" + n }}.pair(t, "unixpacket")
		got := make(chan string)
		go func() {
			buf := make([]byte, 10)
			n, _ := s.Read(buf)
			got <- string(buf[:n])
		}()
		synctest.Wait()
		c.Write([]byte("rec"))
		if g := <-got; g != "rec" {
			t.Errorf("got %q", g)
		}
	})
}
