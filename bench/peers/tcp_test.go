package peers

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/bsdnet/bsdnet"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
)

// TCP over loopback, three ways in one run: bsdnet (one stack, 127.0.0.1,
// through its net.Conn adapters), gVisor's netstack (one stack, loopback
// NIC, through gonet) and the kernel (127.0.0.1 through Go's net package).

// tcpPeer makes a connected TCP pair of one implementation.
type tcpPeer struct {
	name string
	pair func(tb testing.TB) (c, s net.Conn)
}

var tcpPeers = []tcpPeer{
	{"bsdnet", bsdnetTCPPair},
	{"gvisor", gvisorTCPPair},
	{"kernel", kernelTCPPair},
}

// connectPair connects a client made by dial to a server accepted from l,
// and closes l.
func connectPair(tb testing.TB, l net.Listener, dial func() (net.Conn, error)) (net.Conn, net.Conn) {
	tb.Helper()
	defer l.Close()
	type acc struct {
		c   net.Conn
		err error
	}
	ch := make(chan acc, 1)
	go func() {
		c, err := l.Accept()
		ch <- acc{c, err}
	}()
	c, err := dial()
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	a := <-ch
	if a.err != nil {
		c.Close()
		tb.Fatalf("accept: %v", a.err)
	}
	tb.Cleanup(func() {
		c.Close()
		a.c.Close()
	})
	return c, a.c
}

func bsdnetTCPPair(tb testing.TB) (net.Conn, net.Conn) {
	st := bsdnet.NewStack()
	l, err := st.Listen("tcp4", "127.0.0.1:5002")
	if err != nil {
		st.Close()
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() }) // runs after the conns' cleanup below
	return connectPair(tb, l, func() (net.Conn, error) { return st.Dial("tcp4", "127.0.0.1:5002") })
}

func kernelTCPPair(tb testing.TB) (net.Conn, net.Conn) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	return connectPair(tb, l, func() (net.Conn, error) { return net.Dial("tcp4", l.Addr().String()) })
}

func gvisorTCPPair(tb testing.TB) (net.Conn, net.Conn) {
	g := newGvisorLoopbackNet(tb)
	addr := tcpip.FullAddress{NIC: 1, Addr: gvLoopbackAddr, Port: 5002}
	l, err := gonet.ListenTCP(g.a, addr, ipv4.ProtocolNumber)
	if err != nil {
		g.close()
		tb.Fatal(err)
	}
	tb.Cleanup(g.close) // runs after the conns' cleanup below
	return connectPair(tb, l, func() (net.Conn, error) { return gonet.DialTCP(g.a, addr, ipv4.ProtocolNumber) })
}

// tcpChunk is the size of each write (and read buffer) of the stream.
const tcpChunk = 64 * 1024

// tcpStream writes n chunks from c (in a new goroutine) and reads them all
// from s; with check, the data is a pattern the reader verifies.
func tcpStream(c, s net.Conn, n int, check bool) error {
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, tcpChunk)
		for i := range n {
			if check {
				for j := range buf {
					buf[j] = byte(i + j)
				}
			}
			if _, err := c.Write(buf); err != nil {
				errc <- fmt.Errorf("write %d: %w", i, err)
				return
			}
		}
		errc <- nil
	}()
	buf := make([]byte, tcpChunk)
	want := make([]byte, tcpChunk)
	total := int64(n) * tcpChunk
	for got := int64(0); got < total; {
		k, err := s.Read(buf)
		if check {
			for j := range buf[:k] {
				g := got + int64(j)
				want[j] = byte(g/tcpChunk + g%tcpChunk)
			}
			if !bytes.Equal(buf[:k], want[:k]) {
				return fmt.Errorf("data differs in the %d bytes at %d", k, got)
			}
		}
		got += int64(k)
		if err != nil {
			return fmt.Errorf("read after %d bytes: %w", got, err)
		}
	}
	return <-errc
}

// tcpPingPong makes n 1-byte round trips: c sends, an echo goroutine on s
// answers, c waits for the answer. It closes c to stop the echo.
func tcpPingPong(c, s net.Conn, n int, check bool) error {
	done := make(chan error, 1)
	go func() {
		var b [1]byte
		for {
			if _, err := io.ReadFull(s, b[:]); err != nil {
				if err == io.EOF {
					err = nil
				}
				done <- err
				return
			}
			if _, err := s.Write(b[:]); err != nil {
				done <- err
				return
			}
		}
	}()
	var b [1]byte
	var err error
	for i := range n {
		b[0] = byte(i)
		if _, err = c.Write(b[:]); err != nil {
			break
		}
		if _, err = io.ReadFull(c, b[:]); err != nil {
			break
		}
		if check && b[0] != byte(i) {
			err = fmt.Errorf("round trip %d: got %d", i, b[0])
			break
		}
	}
	c.Close()
	if e := <-done; err == nil {
		err = e
	}
	return err
}

// BenchmarkTCPStream: 64 KiB writes over a loopback TCP connection, one
// goroutine writing and one reading.
func BenchmarkTCPStream(b *testing.B) {
	for _, p := range tcpPeers {
		b.Run(p.name, func(b *testing.B) {
			c, s := p.pair(b)
			b.SetBytes(tcpChunk)
			b.ReportAllocs()
			b.ResetTimer()
			if err := tcpStream(c, s, b.N, false); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkTCPPingPong: one op is a 1-byte round trip over a loopback TCP
// connection.
func BenchmarkTCPPingPong(b *testing.B) {
	for _, p := range tcpPeers {
		b.Run(p.name, func(b *testing.B) {
			c, s := p.pair(b)
			b.ReportAllocs()
			b.ResetTimer()
			if err := tcpPingPong(c, s, b.N, false); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// TestTCPWorkloads runs the TCP workloads of the peers briefly, checked.
func TestTCPWorkloads(t *testing.T) {
	for _, p := range tcpPeers {
		t.Run("stream/"+p.name, func(t *testing.T) {
			c, s := p.pair(t)
			if err := tcpStream(c, s, 20, true); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("pingpong/"+p.name, func(t *testing.T) {
			c, s := p.pair(t)
			if err := tcpPingPong(c, s, 300, true); err != nil {
				t.Fatal(err)
			}
		})
	}
}
