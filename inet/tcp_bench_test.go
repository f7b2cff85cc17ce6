package inet

import (
	"net/netip"
	"testing"

	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/socket"
)

type benchHost struct {
	v *socket.Vnet
	s *Stack
}

func newBenchHost(b *testing.B) *benchHost {
	v := socket.NewVnet()
	s, err := Attach(v, Config{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	return &benchHost{v, s}
}

func (h *benchHost) attachB(b *testing.B, ifp *link.Ifnet, addr string) {
	if _, err := h.s.AddInterface(ifp); err != nil {
		b.Fatal(err)
	}
	if err := h.s.AddAddress(ifp, netip.MustParsePrefix(addr)); err != nil {
		b.Fatal(err)
	}
}

func benchConn(b *testing.B, c, s *benchHost, addr string) (cli, srv *socket.Socket) {
	ls, err := s.v.Create(socket.AF_INET, socket.SOCK_STREAM, 0, socket.RootCred())
	if err != nil {
		b.Fatal(err)
	}
	if err := ls.Bind(sa(addr)); err != nil {
		b.Fatal(err)
	}
	ls.Listen(5)
	cli, _ = c.v.Create(socket.AF_INET, socket.SOCK_STREAM, 0, socket.RootCred())
	if err := cli.Connect(sa(addr)); err != nil {
		b.Fatal(err)
	}
	if err := cli.WaitConnected(bg); err != nil {
		b.Fatal(err)
	}
	srv, err = ls.ListenDequeue(bg, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cli.Close(); srv.Close(); ls.Close() })
	return cli, srv
}

func BenchmarkTCPLoopbackThroughput(b *testing.B) {
	h := newBenchHost(b)
	cli, srv := benchConn(b, h, h, "127.0.0.1:80")
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	done := make(chan struct{})
	go func() {
		defer close(done)
		rb := make([]byte, 64<<10)
		total := b.N * len(buf)
		for got := 0; got < total; {
			n, err := read(srv, rb, 0)
			if err != nil || n == 0 {
				return
			}
			got += n
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := write(cli, buf, 0); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	reportSegs(b, h.s)
}

// reportSegs reports the data segments and bare ACKs sent per op.
func reportSegs(b *testing.B, s *Stack) {
	st := &s.Stats.TCP
	b.ReportMetric(float64(st.SndPack.Load())/float64(b.N), "segs/op")
	b.ReportMetric(float64(st.SndAcks.Load())/float64(b.N), "acks/op")
}

func BenchmarkTCPLoopbackRoundTrip(b *testing.B) {
	h := newBenchHost(b)
	cli, srv := benchConn(b, h, h, "127.0.0.1:80")
	cli.SetOptInt(IPPROTO_TCP, TCP_NODELAY, 1)
	srv.SetOptInt(IPPROTO_TCP, TCP_NODELAY, 1)
	go func() {
		p := make([]byte, 1)
		for {
			if n, err := read(srv, p, 0); err != nil || n == 0 {
				return
			}
			if _, err := write(srv, p, 0); err != nil {
				return
			}
		}
	}()
	p := make([]byte, 1)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		write(cli, p, 0)
		if n, err := read(cli, p, 0); n != 1 || err != nil {
			b.Fatal(n, err)
		}
	}
}

func BenchmarkTCPWireThroughput(b *testing.B) {
	ha, hb := newBenchHost(b), newBenchHost(b)
	c := newCable(1500)
	c.ends[0].Checksum.Store(false)
	c.ends[1].Checksum.Store(false)
	ha.attachB(b, c.ends[0], "10.0.0.1/24")
	hb.attachB(b, c.ends[1], "10.0.0.2/24")
	cli, srv := benchConn(b, ha, hb, "10.0.0.2:80")
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(buf)))
	done := make(chan struct{})
	go func() {
		defer close(done)
		rb := make([]byte, 64<<10)
		total := b.N * len(buf)
		for got := 0; got < total; {
			n, err := read(srv, rb, 0)
			if err != nil || n == 0 {
				return
			}
			got += n
		}
	}()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := write(cli, buf, 0); err != nil {
			b.Fatal(err)
		}
	}
	<-done
}
