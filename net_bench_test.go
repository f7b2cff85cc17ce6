package bsdnet_test

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/socket"
)

// The net.Conn adapters beside what they wrap and beside the usual
// alternatives, in the same run:
//
//	socket      bsdnet's socket layer called directly (Send and Receive)
//	netconn     the same sockets through bsdnet's net.Conn
//	netpipe     Go's net.Pipe, the in-memory fake
//	kernel      the host kernel's sockets through Go's net package
//
// over PF_LOCAL ("unix") and TCP on the loopback ("tcp"). The Adapter
// benchmarks interleave socket and netconn batch by batch on two pairs
// and report the adapters' cost in percent (cost-%), which a loaded
// machine disturbs less than two separate runs.

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

// benchModes are the sub-benchmarks: a name and a maker of a connected
// pair as read-writers, with a function that releases it.
var benchModes = []struct {
	name string
	pair func(b *testing.B) (c, s io.ReadWriter, stop func())
}{
	{"unix-socket", func(b *testing.B) (io.ReadWriter, io.ReadWriter, func()) { return bsdnetPair(b, "unix", true) }},
	{"unix-netconn", func(b *testing.B) (io.ReadWriter, io.ReadWriter, func()) { return bsdnetPair(b, "unix", false) }},
	{"tcp-socket", func(b *testing.B) (io.ReadWriter, io.ReadWriter, func()) { return bsdnetPair(b, "tcp", true) }},
	{"tcp-netconn", func(b *testing.B) (io.ReadWriter, io.ReadWriter, func()) { return bsdnetPair(b, "tcp", false) }},
	{"netpipe", func(b *testing.B) (io.ReadWriter, io.ReadWriter, func()) {
		c, s := net.Pipe()
		return c, s, func() { c.Close(); s.Close() }
	}},
	{"kernel-unix", func(b *testing.B) (io.ReadWriter, io.ReadWriter, func()) { return kernelPair(b, "unix") }},
	{"kernel-tcp", func(b *testing.B) (io.ReadWriter, io.ReadWriter, func()) { return kernelPair(b, "tcp") }},
}

// bsdnetConnPair returns a connected pair of Conns on a new stack.
func bsdnetConnPair(b *testing.B, network string) (c, s *bsdnet.Conn, stop func()) {
	st := bsdnet.NewStack()
	addr := "/bench"
	if network == "tcp" {
		addr = "127.0.0.1:5001"
	}
	l, err := st.Listen(network, addr)
	if err != nil {
		b.Fatal(err)
	}
	cc, err := st.Dial(network, addr)
	if err != nil {
		b.Fatal(err)
	}
	sc, err := l.Accept()
	if err != nil {
		b.Fatal(err)
	}
	l.Close()
	return cc.(*bsdnet.Conn), sc.(*bsdnet.Conn), func() {
		cc.Close()
		sc.Close()
		st.Close()
	}
}

func bsdnetPair(b *testing.B, network string, raw bool) (c, s io.ReadWriter, stop func()) {
	cc, sc, stop := bsdnetConnPair(b, network)
	if raw {
		return rawRW{cc.Socket()}, rawRW{sc.Socket()}, stop
	}
	return cc, sc, stop
}

// kernelPair returns a connected pair of the host's sockets: unix in a
// temporary directory or TCP on 127.0.0.1.
func kernelPair(b *testing.B, network string) (c, s io.ReadWriter, stop func()) {
	addr := "127.0.0.1:0"
	if network == "unix" {
		addr = filepath.Join(b.TempDir(), "s")
	}
	l, err := net.Listen(network, addr)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	cc, err := net.Dial(network, l.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	sc, err := l.Accept()
	if err != nil {
		b.Fatal(err)
	}
	return cc, sc, func() {
		cc.Close()
		sc.Close()
	}
}

// echo answers each byte read with a byte, until an error.
func echo(rw io.ReadWriter) {
	buf := make([]byte, 1)
	for {
		if _, err := rw.Read(buf); err != nil {
			return
		}
		if _, err := rw.Write(buf); err != nil {
			return
		}
	}
}

func roundTrip(b *testing.B, rw io.ReadWriter, buf []byte) {
	if _, err := rw.Write(buf); err != nil {
		b.Fatal(err)
	}
	if _, err := io.ReadFull(rw, buf); err != nil {
		b.Fatal(err)
	}
}

// drain reads until an error, reporting on got each time it has read
// another batch bytes.
func drain(rw io.Reader, size, batch int, got chan<- struct{}) {
	buf := make([]byte, size)
	n := 0
	for {
		k, err := rw.Read(buf)
		if err != nil {
			close(got)
			return
		}
		for n += k; n >= batch; n -= batch {
			got <- struct{}{}
		}
	}
}

func BenchmarkConnPingPong1B(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			c, s, stop := mode.pair(b)
			defer stop()
			go echo(s)
			buf := make([]byte, 1)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				roundTrip(b, c, buf)
			}
		})
	}
}

func BenchmarkConnStream64K(b *testing.B) {
	const size = 64 << 10
	for _, mode := range benchModes {
		b.Run(mode.name, func(b *testing.B) {
			c, s, stop := mode.pair(b)
			defer stop()
			got := make(chan struct{}, 1)
			go drain(s, size, b.N*size, got)
			buf := make([]byte, size)
			b.SetBytes(size)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := c.Write(buf); err != nil {
					b.Fatal(err)
				}
			}
			<-got
		})
	}
}

// adapterBatch is how many operations run on one path before the other.
const adapterBatch = 256

// interleave runs two variants of an operation batch by batch (n
// operations each), x then y, and reports each one's time per operation
// (and rate, when an operation moves size bytes) under its name; it
// returns their total times. The benchmark's own ns/op counts both.
func interleave(b *testing.B, size int, xName, yName string, x, y func(n int)) (tx, ty time.Duration) {
	b.ResetTimer()
	for i := 0; i < b.N; i += adapterBatch {
		k := min(adapterBatch, b.N-i)
		t0 := time.Now()
		x(k)
		t1 := time.Now()
		y(k)
		t2 := time.Now()
		tx += t1.Sub(t0)
		ty += t2.Sub(t1)
	}
	b.StopTimer()
	for _, v := range []struct {
		name string
		t    time.Duration
	}{{xName, tx}, {yName, ty}} {
		b.ReportMetric(float64(v.t.Nanoseconds())/float64(b.N), v.name+"-ns/op")
		if size > 0 {
			b.ReportMetric(float64(size)*float64(b.N)/v.t.Seconds()/1e6, v.name+"-MB/s")
		}
	}
	return tx, ty
}

// reportCost reports the adapters' cost over the socket layer in percent.
func reportCost(b *testing.B, tRaw, tConn time.Duration) {
	b.ReportMetric(100*(float64(tConn)/float64(tRaw)-1), "cost-%")
}

// BenchmarkAdapterPingPong1B: the adapters' cost on a 1-byte round trip.
func BenchmarkAdapterPingPong1B(b *testing.B) {
	for _, nw := range []string{"unix", "tcp"} {
		b.Run(nw, func(b *testing.B) {
			rc, rs, stop1 := bsdnetPair(b, nw, true)
			defer stop1()
			cc, cs, stop2 := bsdnetPair(b, nw, false)
			defer stop2()
			go echo(rs)
			go echo(cs)
			buf := make([]byte, 1)
			b.ReportAllocs()
			tRaw, tConn := interleave(b, 0, "socket", "netconn",
				func(n int) {
					for range n {
						roundTrip(b, rc, buf)
					}
				},
				func(n int) {
					for range n {
						roundTrip(b, cc, buf)
					}
				})
			reportCost(b, tRaw, tConn)
		})
	}
}

// BenchmarkAdapterStream64K: the adapters' cost on 64 KiB writes, each
// batch counted until the reader has it all.
func BenchmarkAdapterStream64K(b *testing.B) {
	const size = 64 << 10
	for _, nw := range []string{"unix", "tcp"} {
		b.Run(nw, func(b *testing.B) {
			rc, rs, stop1 := bsdnetPair(b, nw, true)
			defer stop1()
			cc, cs, stop2 := bsdnetPair(b, nw, false)
			defer stop2()
			rgot, cgot := make(chan struct{}, adapterBatch), make(chan struct{}, adapterBatch)
			go drain(rs, size, size, rgot)
			go drain(cs, size, size, cgot)
			buf := make([]byte, size)
			write := func(w io.Writer, got chan struct{}) func(n int) {
				return func(n int) {
					for range n {
						if _, err := w.Write(buf); err != nil {
							b.Fatal(err)
						}
					}
					for range n {
						<-got
					}
				}
			}
			b.ReportAllocs()
			tRaw, tConn := interleave(b, size, "socket", "netconn", write(rc, rgot), write(cc, cgot))
			reportCost(b, tRaw, tConn)
		})
	}
}

var _ net.Conn = (*bsdnet.Conn)(nil)
