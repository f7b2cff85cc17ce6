package header

import (
	"net/netip"
	"testing"

	"github.com/bsdnet/bsdnet/mbuf"
)

// packet1500 returns a 1500-byte UDP/IPv4 packet with a valid checksum.
func packet1500() ([]byte, netip.Addr, netip.Addr) {
	src, dst := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	b := make([]byte, 1500)
	IPv4Fields{TotalLen: 1500, ID: 1, DF: true, TTL: 64, Protocol: ProtoUDP, Src: src, Dst: dst}.Encode(b)
	UDPFields{SrcPort: 1, DstPort: 2, Length: 1480}.Encode(b[20:])
	for i := 28; i < len(b); i++ {
		b[i] = byte(i)
	}
	UDP(b[20:]).ComputeChecksum(src, dst, Checksum(b[28:], 0))
	return b, src, dst
}

func BenchmarkParseIPv4UDP(b *testing.B) {
	p, _, _ := packet1500()
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	var sink int
	for b.Loop() {
		h := IPv4(p)
		if h.Check(len(p)) != nil || !h.ChecksumValid() {
			b.Fatal("bad")
		}
		u := UDP(h.Payload())
		if u.Check(len(u)) != nil {
			b.Fatal("bad")
		}
		sink += int(u.DstPort()) + len(u.Payload()) + int(h.TTL())
		if h.Src() == h.Dst() {
			b.Fatal("bad")
		}
	}
	_ = sink
}

func BenchmarkChecksumUDP1500(b *testing.B) {
	p, src, dst := packet1500()
	u := UDP(p[20:])
	b.ReportAllocs()
	b.SetBytes(int64(len(u)))
	for b.Loop() {
		if !u.ChecksumValid(src, dst) {
			b.Fatal("bad checksum")
		}
	}
}

func BenchmarkChecksum1500(b *testing.B) {
	p, _, _ := packet1500()
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		Checksum(p, 0)
	}
}

func BenchmarkChecksumMbuf1500(b *testing.B) {
	p, _, _ := packet1500()
	m := mbuf.NewPool().CopyIn(mbuf.MT_DATA, p, 0)
	m = mbuf.Cat(m, mbuf.Split(m, 701)) // an odd boundary
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		ChecksumMbuf(m, 20, -1, 0)
	}
}

func BenchmarkEncodeIPv4(b *testing.B) {
	buf := make([]byte, IPv4MinLen)
	f := IPv4Fields{TotalLen: 1500, ID: 1, TTL: 64, Protocol: ProtoTCP,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}
	b.ReportAllocs()
	for b.Loop() {
		f.Encode(buf)
	}
}

func BenchmarkNDPOptions(b *testing.B) {
	buf := make([]byte, 32)
	BuildNDPNS(buf, netip.MustParseAddr("fe80::2"), mac1)
	ns := NDPNeighborSolicit(buf)
	b.ReportAllocs()
	for b.Loop() {
		if ns.Options().Walk(func(uint8, []byte) {}) != nil || ns.Options().LinkLayerAddr(NDPOptSourceLLA) == nil {
			b.Fatal("bad")
		}
	}
}

// TestZeroAllocs pins the benchmarks' claim in the ordinary test run.
func TestZeroAllocs(t *testing.T) {
	p, src, dst := packet1500()
	m := mbuf.NewPool().CopyIn(mbuf.MT_DATA, p, 0)
	m = mbuf.Cat(m, mbuf.Split(m, 701))
	opts := make([]byte, 32)
	BuildNDPNS(opts, netip.MustParseAddr("fe80::2"), mac1)
	tcpOpts := []byte{2, 4, 5, 0xb4, 1, 3, 3, 7}
	n := testing.AllocsPerRun(100, func() {
		h := IPv4(p)
		_ = h.Check(len(p))
		_ = h.ChecksumValid()
		_, _, _ = h.Src(), h.Dst(), h.Options()
		u := UDP(h.Payload())
		_ = u.Check(len(u))
		_ = u.ChecksumValid(src, dst)
		_ = ChecksumMbuf(m, 20, -1, PseudoHeaderChecksum(ProtoUDP, src, dst, 1480))
		_ = NDPNeighborSolicit(opts).Options().Walk(func(uint8, []byte) {})
		_ = NDPNeighborSolicit(opts).Options().LinkLayerAddr(NDPOptSourceLLA)
		_ = TCPOptions(tcpOpts, func(uint8, []byte) {})
		_ = IPv4Options(tcpOpts, func(uint8, []byte) {})
		_ = Ethernet(p).Src()
	})
	if n != 0 {
		t.Errorf("%v allocations per packet, want 0", n)
	}
}
