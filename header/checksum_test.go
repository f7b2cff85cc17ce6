package header

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/bsdnet/bsdnet/mbuf"
)

// naiveChecksum is the RFC 1071 section 4.1 reference: add 16-bit words into
// a 32-bit accumulator, pad an odd byte, fold the carries.
func naiveChecksum(b []byte, initial uint16) uint16 {
	sum := uint32(initial)
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
		sum = sum>>16 + sum&0xffff
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}

func TestChecksumRFC1071Example(t *testing.T) {
	// RFC 1071 section 3: the bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got := Checksum(b, 0); got != 0xddf2 {
		t.Fatalf("Checksum = %#04x, want 0xddf2", got)
	}
	if got := naiveChecksum(b, 0); got != 0xddf2 {
		t.Fatalf("naiveChecksum = %#04x, want 0xddf2", got)
	}
	// The same sum from parts, combined.
	if got := ChecksumCombine(Checksum(b[:2], 0), Checksum(b[2:], 0)); got != 0xddf2 {
		t.Fatalf("combined = %#04x, want 0xddf2", got)
	}
}

func TestChecksumEdges(t *testing.T) {
	tests := []struct {
		name    string
		b       []byte
		initial uint16
		want    uint16
	}{
		{"empty", nil, 0, 0},
		{"empty initial", nil, 0x1234, 0x1234},
		{"odd byte", []byte{0xab}, 0, 0xab00},
		{"carry", []byte{0xff, 0xff, 0x00, 0x01}, 0, 0x0001},
		{"all ones", []byte{0xff, 0xff, 0xff, 0xff}, 0xffff, 0xffff},
		{"zeros", make([]byte, 100), 0, 0},
		{"ones odd", slices.Repeat([]byte{0xff}, 1001), 0xffff, 0xff00},
		{"ones long", slices.Repeat([]byte{0xff}, 1000), 0xffff, 0xffff},
		{"initial carry", []byte{0x80, 0x00}, 0x8000, 0x0001},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Checksum(tt.b, tt.initial); got != tt.want {
				t.Errorf("Checksum = %#04x, want %#04x", got, tt.want)
			}
			if got := naiveChecksum(tt.b, tt.initial); got != tt.want {
				t.Errorf("naiveChecksum = %#04x, want %#04x", got, tt.want)
			}
		})
	}
}

func TestChecksumRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		n := r.IntN(200)
		if i%10 == 0 {
			n = r.IntN(9000)
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(r.Uint32())
			if i%7 == 0 {
				b[j] |= 0xf0 // many carries
			}
		}
		init := uint16(r.Uint32())
		if got, want := Checksum(b, init), naiveChecksum(b, init); got != want {
			t.Fatalf("len %d initial %#x: Checksum = %#04x, want %#04x", n, init, got, want)
		}
		// An even split point combines.
		if n >= 2 {
			k := r.IntN(n/2+1) * 2
			if got, want := ChecksumCombine(Checksum(b[:k], init), Checksum(b[k:], 0)), naiveChecksum(b, init); got != want {
				t.Fatalf("len %d split %d: combined %#04x, want %#04x", n, k, got, want)
			}
		}
	}
}

func TestChecksumMbuf(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	pool := mbuf.NewPool()
	for i := range 500 {
		n := r.IntN(3000) + 1
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		// Cut the chain at random points, odd ones included.
		cuts := make([]int, r.IntN(8))
		for j := range cuts {
			cuts[j] = r.IntN(n)
		}
		slices.Sort(cuts)
		cuts = slices.Compact(cuts)
		head := pool.CopyIn(mbuf.MT_DATA, b, 0)
		var pieces []*mbuf.Mbuf
		cur, at := head, 0
		for _, c := range cuts {
			if c == at {
				continue
			}
			tail := mbuf.Split(cur, c-at)
			pieces = append(pieces, cur)
			cur, at = tail, c
		}
		pieces = append(pieces, cur)
		var m *mbuf.Mbuf
		for _, p := range pieces {
			m = mbuf.Cat(m, p)
		}
		if got := mbuf.Bytes(m); !slices.Equal(got, b) {
			t.Fatalf("chain rebuilt wrong")
		}
		off := r.IntN(n)
		cnt := r.IntN(n-off+1) + 0
		init := uint16(r.Uint32())
		if got, want := ChecksumMbuf(m, off, cnt, init), naiveChecksum(b[off:off+cnt], init); got != want {
			t.Fatalf("iter %d: cuts %v off %d n %d: ChecksumMbuf = %#04x, want %#04x", i, cuts, off, cnt, got, want)
		}
		if got, want := ChecksumMbuf(m, off, -1, init), naiveChecksum(b[off:], init); got != want {
			t.Fatalf("iter %d: to end: ChecksumMbuf = %#04x, want %#04x", i, got, want)
		}
		if got, want := ChecksumMbuf(m, off, n*2, init), naiveChecksum(b[off:], init); got != want {
			t.Fatalf("iter %d: past end: ChecksumMbuf = %#04x, want %#04x", i, got, want)
		}
		mbuf.FreeChain(m)
	}
}

func TestPseudoHeaderChecksum(t *testing.T) {
	tests := []struct {
		src, dst string
		proto    uint8
		length   uint16
		bytes    []byte // the pseudo header as RFC 768 / RFC 8200 8.1 draw it
	}{
		{"10.0.0.1", "10.0.0.2", ProtoUDP, 12,
			[]byte{10, 0, 0, 1, 10, 0, 0, 2, 0, 17, 0, 12}},
		{"192.168.255.255", "255.255.255.255", ProtoTCP, 65535,
			[]byte{192, 168, 255, 255, 255, 255, 255, 255, 0, 6, 0xff, 0xff}},
		{"fe80::1", "ff02::1:ff00:2", ProtoICMPv6, 32, append(append(
			netip.MustParseAddr("fe80::1").AsSlice(), netip.MustParseAddr("ff02::1:ff00:2").AsSlice()...),
			0, 0, 0, 32, 0, 0, 0, 58)},
		{"2001:db8::ffff", "2001:db8::1", ProtoUDP, 0xfff0, append(append(
			netip.MustParseAddr("2001:db8::ffff").AsSlice(), netip.MustParseAddr("2001:db8::1").AsSlice()...),
			0, 0, 0xff, 0xf0, 0, 0, 0, 17)},
	}
	for _, tt := range tests {
		got := PseudoHeaderChecksum(tt.proto, netip.MustParseAddr(tt.src), netip.MustParseAddr(tt.dst), tt.length)
		if want := naiveChecksum(tt.bytes, 0); got != want {
			t.Errorf("%s > %s: %#04x, want %#04x", tt.src, tt.dst, got, want)
		}
	}
}
