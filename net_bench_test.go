package bsdnet_test

import (
	"context"
	"io"
	"net"
	"testing"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/socket"
)

// The adapter against the socket layer it wraps: the same workloads over
// one "unix" connection, once through net.Conn and once through Send and
// Receive on the underlying sockets.

// rawRW reads and writes a socket as the adapter would, minus the adapter.
type rawRW struct{ so *socket.Socket }

func (r rawRW) Read(b []byte) (int, error) {
	u := socket.UioBuf(b)
	err := r.so.Receive(context.Background(), nil, &u, nil, nil, nil)
	n := len(b) - u.Resid
	if err == nil && n == 0 {
		return 0, io.EOF
	}
	return n, err
}

func (r rawRW) Write(b []byte) (int, error) {
	u := socket.UioBuf(b)
	err := r.so.Send(context.Background(), nil, &u, nil, nil, 0)
	return len(b) - u.Resid, err
}

func benchPair(b *testing.B) (c, s *bsdnet.Conn, stop func()) {
	st := bsdnet.NewStack()
	l, err := st.Listen("unix", "/bench")
	if err != nil {
		b.Fatal(err)
	}
	cc, err := st.Dial("unix", "/bench")
	if err != nil {
		b.Fatal(err)
	}
	sc, err := l.Accept()
	if err != nil {
		b.Fatal(err)
	}
	return cc.(*bsdnet.Conn), sc.(*bsdnet.Conn), func() {
		cc.Close()
		sc.Close()
		l.Close()
		st.Close()
	}
}

func sides(c, s *bsdnet.Conn, raw bool) (io.ReadWriter, io.ReadWriter) {
	if raw {
		return rawRW{c.Socket()}, rawRW{s.Socket()}
	}
	return c, s
}

func BenchmarkConnPingPong1B(b *testing.B) {
	for _, mode := range []string{"socket", "netconn"} {
		b.Run(mode, func(b *testing.B) {
			c, s, stop := benchPair(b)
			defer stop()
			cl, sv := sides(c, s, mode == "socket")
			go func() {
				buf := make([]byte, 1)
				for {
					if _, err := sv.Read(buf); err != nil {
						return
					}
					if _, err := sv.Write(buf); err != nil {
						return
					}
				}
			}()
			buf := make([]byte, 1)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := cl.Write(buf); err != nil {
					b.Fatal(err)
				}
				if _, err := cl.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkConnStream64K(b *testing.B) {
	const size = 64 << 10
	for _, mode := range []string{"socket", "netconn"} {
		b.Run(mode, func(b *testing.B) {
			c, s, stop := benchPair(b)
			defer stop()
			cl, sv := sides(c, s, mode == "socket")
			done := make(chan int64)
			go func() {
				buf := make([]byte, size)
				var total int64
				for total < int64(b.N)*size {
					n, err := sv.Read(buf)
					if err != nil {
						break
					}
					total += int64(n)
				}
				done <- total
			}()
			buf := make([]byte, size)
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := cl.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			if got := <-done; got != int64(b.N)*size {
				b.Fatalf("read %d bytes", got)
			}
		})
	}
}

var _ net.Conn = (*bsdnet.Conn)(nil)
