package header

import (
	"bytes"
	"errors"
	"net"
	"net/netip"
	"testing"
)

func TestIPv4RoundTrip(t *testing.T) {
	h := IPv4(make([]byte, 60))
	h.SetVersionIHL(24)
	tests := []struct {
		name string
		set  func()
		ok   func() bool
	}{
		{"TOS", func() { h.SetTOS(0xb8) }, func() bool { return h.TOS() == 0xb8 }},
		{"TotalLen", func() { h.SetTotalLen(60) }, func() bool { return h.TotalLen() == 60 }},
		{"ID", func() { h.SetID(0xbeef) }, func() bool { return h.ID() == 0xbeef }},
		{"DF", func() { h.SetFlagsFragOffset(true, false, 0) }, func() bool { return h.DF() && !h.MF() && h.FragOffset() == 0 && h.Flags() == IPv4FlagDF }},
		{"MF off", func() { h.SetFlagsFragOffset(false, true, 65528) }, func() bool { return !h.DF() && h.MF() && h.FragOffset() == 65528 }},
		{"TTL", func() { h.SetTTL(1) }, func() bool { return h.TTL() == 1 }},
		{"Protocol", func() { h.SetProtocol(ProtoTCP) }, func() bool { return h.Protocol() == ProtoTCP }},
		{"Src", func() { h.SetSrc(netip.MustParseAddr("1.2.3.4")) }, func() bool { return h.Src() == netip.MustParseAddr("1.2.3.4") }},
		{"Src mapped", func() { h.SetSrc(netip.MustParseAddr("::ffff:1.2.3.5")) }, func() bool { return h.Src() == netip.MustParseAddr("1.2.3.5") }},
		{"Dst", func() { h.SetDst(netip.MustParseAddr("255.0.0.1")) }, func() bool { return h.Dst() == netip.MustParseAddr("255.0.0.1") }},
		{"HeaderChecksum", func() { h.SetHeaderChecksum(0x1234) }, func() bool { return h.HeaderChecksum() == 0x1234 }},
		{"ComputeChecksum", func() { h.ComputeChecksum() }, func() bool { return h.ChecksumValid() }},
		{"Version", func() {}, func() bool { return h.Version() == 4 && h.HeaderLen() == 24 && len(h.Options()) == 4 }},
		{"Payload", func() {}, func() bool { return len(h.Payload()) == 36 }},
	}
	for _, tt := range tests {
		tt.set()
		if !tt.ok() {
			t.Errorf("%s: %v", tt.name, h)
		}
	}
	if err := h.Check(len(h)); err != nil {
		t.Fatal(err)
	}
	h.SetTTL(2)
	if h.ChecksumValid() {
		t.Error("checksum valid after a change")
	}
}

func TestIPv4Check(t *testing.T) {
	good := make([]byte, 28)
	IPv4Fields{TotalLen: 28, TTL: 1, Protocol: ProtoUDP}.Encode(good)
	mod := func(f func(b []byte)) []byte {
		b := append([]byte(nil), good...)
		f(b)
		return b
	}
	tests := []struct {
		name   string
		b      []byte
		pktLen int
		want   error
	}{
		{"good", good, 28, nil},
		{"longer packet", good, 1000, nil},
		{"short", good[:19], 19, ErrTruncated},
		{"version 6", mod(func(b []byte) { b[0] = 0x65 }), 28, ErrBadVersion},
		{"IHL 4", mod(func(b []byte) { b[0] = 0x44 }), 28, ErrBadLength},
		{"IHL past end", mod(func(b []byte) { b[0] = 0x48 }), 28, ErrTruncated},
		{"total below IHL", mod(func(b []byte) { b[3] = 19 }), 28, ErrBadLength},
		{"total past packet", good, 27, ErrBadLength},
	}
	for _, tt := range tests {
		if err := IPv4(tt.b).Check(tt.pktLen); !errors.Is(err, tt.want) {
			t.Errorf("%s: Check = %v, want %v", tt.name, err, tt.want)
		}
	}
	// A view shorter than the packet (first mbuf only): Payload stops at
	// the end of the view.
	if p := IPv4(good[:24]).Payload(); len(p) != 4 {
		t.Errorf("Payload of a short view: %d bytes", len(p))
	}
}

func TestIPv4Options(t *testing.T) {
	type opt struct {
		typ uint8
		n   int
	}
	tests := []struct {
		name string
		opts []byte
		want []opt
		err  bool
	}{
		{"empty", nil, nil, false},
		{"padding", []byte{1, 1, 1, 0}, nil, false},
		{"router alert", []byte{IPv4OptRA, 4, 0, 0}, []opt{{IPv4OptRA, 2}}, false},
		{"RR then EOL then junk", []byte{1, IPv4OptRR, 7, 4, 0, 0, 0, 0, 0, 99, 99}, []opt{{IPv4OptRR, 5}}, false},
		{"no length", []byte{1, 1, 1, IPv4OptRA}, nil, true},
		{"length 1", []byte{IPv4OptRA, 1, 0, 0}, nil, true},
		{"length 0", []byte{IPv4OptRA, 0, 0, 0}, nil, true},
		{"overrun", []byte{IPv4OptRA, 4, 0}, nil, true},
		{"second bad", []byte{IPv4OptRA, 2, IPv4OptTS, 9, 0}, []opt{{IPv4OptRA, 0}}, true},
	}
	for _, tt := range tests {
		var got []opt
		err := IPv4Options(tt.opts, func(typ uint8, data []byte) { got = append(got, opt{typ, len(data)}) })
		if (err != nil) != tt.err || (err != nil && !errors.Is(err, ErrBadOption)) {
			t.Errorf("%s: err %v", tt.name, err)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			}
		}
	}
	// Encode pads options to 4 bytes.
	b := make([]byte, 24)
	f := IPv4Fields{TotalLen: 24, Options: []byte{IPv4OptRA, 2, 1}}
	if n := f.Encode(b); n != 24 || !bytes.Equal(b[20:], []byte{IPv4OptRA, 2, 1, 0}) {
		t.Fatalf("Encode = %d, options %x", n, b[20:])
	}
	if h := IPv4(b); h.Check(24) != nil || !h.ChecksumValid() {
		t.Fatalf("encoded header %v", h)
	}
}

func TestIPv6RoundTrip(t *testing.T) {
	h := IPv6(make([]byte, 48))
	f := IPv6Fields{TrafficClass: 0xa5, FlowLabel: 0xfffff, PayloadLen: 8, NextHeader: ProtoUDP, HopLimit: 64,
		Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("ff02::1")}
	f.Encode(h)
	if err := h.Check(len(h)); err != nil {
		t.Fatal(err)
	}
	if got := ParseIPv6Fields(h); got != f {
		t.Fatalf("parsed %v, want %v", got, f)
	}
	h.SetTrafficClass(0x5a)
	h.SetFlowLabel(0x12345)
	if h.Version() != 6 || h.TrafficClass() != 0x5a || h.FlowLabel() != 0x12345 {
		t.Fatalf("tc/flow: %v", h)
	}
	h.SetFlowLabel(0xfffffff)
	if h.Version() != 6 || h.TrafficClass() != 0x5a || h.FlowLabel() != 0xfffff {
		t.Fatalf("flow label overflow: %v", h)
	}
	h.SetPayloadLen(9)
	h.SetNextHeader(ProtoTCP)
	h.SetHopLimit(1)
	h.SetSrc(netip.MustParseAddr("::1"))
	h.SetDst(netip.MustParseAddr("1.2.3.4"))
	if h.PayloadLen() != 9 || h.NextHeader() != ProtoTCP || h.HopLimit() != 1 ||
		h.Src() != netip.MustParseAddr("::1") || h.Dst() != netip.MustParseAddr("::ffff:1.2.3.4") {
		t.Fatalf("setters: %v", h)
	}
	if !errors.Is(h.Check(len(h)), ErrBadLength) {
		t.Error("payload past the packet passed Check")
	}
	if len(h.Payload()) != 8 {
		t.Error("Payload not cut at the end of the view")
	}
	h[0] = 0x40
	if !errors.Is(h.Check(100), ErrBadVersion) {
		t.Error("version 4 passed Check")
	}
	if !errors.Is(IPv6(h[:39]).Check(100), ErrTruncated) {
		t.Error("39 bytes passed Check")
	}
}

func TestIPv6ExtHeaders(t *testing.T) {
	hop := []byte{ProtoIPv6Dst, 0, 1, 4, 0, 0, 0, 0} // Hop-by-Hop, PadN
	dst := []byte{ProtoIPv6Route, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	route := []byte{ProtoIPv6Frag, 0, 0, 0, 0, 0, 0, 0} // segments left 0
	frag0 := make([]byte, 8)
	BuildIPv6Fragment(frag0, ProtoUDP, 0, true, 0xdeadbeef)
	frag8 := make([]byte, 8)
	BuildIPv6Fragment(frag8, ProtoIPv6Dst, 1448, false, 7) // the rest is data
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

	tests := []struct {
		name  string
		next  uint8
		b     []byte
		upper uint8
		off   int
		seen  []uint8
		err   error
	}{
		{"none", ProtoTCP, []byte{1, 2, 3}, ProtoTCP, 0, nil, nil},
		{"all", ProtoIPv6Hop, cat(hop, dst, route, frag0, []byte{9, 9}), ProtoUDP, 40,
			[]uint8{ProtoIPv6Hop, ProtoIPv6Dst, ProtoIPv6Route, ProtoIPv6Frag}, nil},
		{"no next", ProtoIPv6Dst, cat([]byte{ProtoIPv6NoNext}, dst[1:]), ProtoIPv6NoNext, 16, []uint8{ProtoIPv6Dst}, nil},
		{"later fragment", ProtoIPv6Frag, cat(frag8, []byte{0, 0xff}), ProtoIPv6Dst, 8, []uint8{ProtoIPv6Frag}, nil},
		{"hop not first", ProtoIPv6Dst, cat([]byte{ProtoIPv6Hop}, dst[1:], hop), ProtoIPv6Hop, 16, []uint8{ProtoIPv6Dst}, ErrBadOption},
		{"truncated length", ProtoIPv6Dst, []byte{ProtoUDP}, ProtoIPv6Dst, 0, nil, ErrTruncated},
		{"truncated body", ProtoIPv6Dst, dst[:15], ProtoIPv6Dst, 0, nil, ErrTruncated},
		{"truncated fragment", ProtoIPv6Frag, frag0[:7], ProtoIPv6Frag, 0, nil, ErrTruncated},
		{"empty", ProtoIPv6Hop, nil, ProtoIPv6Hop, 0, nil, ErrTruncated},
	}
	for _, tt := range tests {
		var seen []uint8
		upper, off, err := IPv6ExtHeaders(tt.next, tt.b, func(typ uint8, hdr []byte) error {
			seen = append(seen, typ)
			return nil
		})
		if upper != tt.upper || off != tt.off || !errors.Is(err, tt.err) || !bytes.Equal(seen, tt.seen) {
			t.Errorf("%s: got %d, %d, %v, seen %v; want %d, %d, %v, seen %v",
				tt.name, upper, off, err, seen, tt.upper, tt.off, tt.err, tt.seen)
		}
	}
	stop := errors.New("stop")
	if _, _, err := IPv6ExtHeaders(ProtoIPv6Hop, hop, func(uint8, []byte) error { return stop }); err != stop {
		t.Errorf("f's error: %v", err)
	}

	f := IPv6Fragment(frag0)
	if f.Check() != nil || f.NextHeader() != ProtoUDP || f.FragOffset() != 0 || !f.M() || f.ID() != 0xdeadbeef {
		t.Errorf("fragment %v", f)
	}
	f = IPv6Fragment(frag8)
	if f.NextHeader() != ProtoIPv6Dst || f.FragOffset() != 1448 || f.M() || f.ID() != 7 {
		t.Errorf("fragment %v", f)
	}
	if got, w := f.String(), "frag (id 0x00000007, offset 1448), next dstopts"; got != w {
		t.Errorf("String = %q, want %q", got, w)
	}
}

func TestICMPv4RoundTrip(t *testing.T) {
	h := ICMPv4(make([]byte, 36))
	h.SetType(ICMPv4DestUnreachable)
	h.SetCode(ICMPv4FragNeeded)
	h.SetMTU(1400)
	h.ComputeChecksum()
	if h.Check() != nil || h.Type() != 3 || h.Code() != 4 || h.MTU() != 1400 || h.ID() != 0 || !h.ChecksumValid() || len(h.Payload()) != 28 {
		t.Fatalf("%v", h)
	}
	if got, w := h.String(), "ICMP unreachable - need to frag (mtu 1400), length 36"; got != w {
		t.Errorf("String = %q, want %q", got, w)
	}
	h.SetID(7)
	h.SetSeq(9)
	h.SetChecksum(0xabcd)
	if h.ID() != 7 || h.Seq() != 9 || h.Checksum() != 0xabcd {
		t.Fatalf("%v", h)
	}
	h.SetPointer(20)
	if h.Pointer() != 20 || h.ID() != 20<<8 || h.Seq() != 0 {
		t.Fatalf("pointer %v", h)
	}
	h.SetGateway(netip.MustParseAddr("10.1.2.3"))
	if h.Gateway() != netip.MustParseAddr("10.1.2.3") {
		t.Fatalf("gateway %v", h)
	}
	if !errors.Is(ICMPv4(h[:7]).Check(), ErrTruncated) {
		t.Error("7 bytes passed Check")
	}
}

func TestICMPv6RoundTrip(t *testing.T) {
	src, dst := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	h := ICMPv6(make([]byte, 13))
	h.SetType(ICMPv6PacketTooBig)
	h.SetCode(0)
	h.SetMTU(1280)
	h.ComputeChecksum(src, dst)
	if h.Check() != nil || h.Type() != 2 || h.MTU() != 1280 || !h.ChecksumValid(src, dst) || h.ChecksumValid(dst, dst) {
		t.Fatalf("%v", h)
	}
	h.SetPointer(0xfffffffe)
	if h.Pointer() != 0xfffffffe {
		t.Fatal("pointer")
	}
	h.SetType(ICMPv6EchoRequest)
	h.SetID(0x1111)
	h.SetSeq(0x2222)
	h.SetChecksum(0x3333)
	if h.ID() != 0x1111 || h.Seq() != 0x2222 || h.Checksum() != 0x3333 || len(h.Payload()) != 5 {
		t.Fatalf("%v", h)
	}
	if got, w := h.String(), "ICMP6, echo request, id 4369, seq 8738, length 13"; got != w {
		t.Errorf("String = %q, want %q", got, w)
	}
}

func TestNDPOptions(t *testing.T) {
	tests := []struct {
		name string
		o    []byte
		n    int
		err  bool
		lla  net.HardwareAddr
	}{
		{"empty", nil, 0, false, nil},
		{"slla", []byte{1, 1, 2, 0, 0, 0, 0, 1}, 1, false, mac1},
		{"mtu then slla", []byte{5, 1, 0, 0, 0, 0, 5, 0, 1, 1, 2, 0, 0, 0, 0, 1}, 2, false, mac1},
		{"length 0", []byte{1, 0, 2, 0, 0, 0, 0, 1}, 0, true, nil},
		{"overrun", []byte{1, 2, 2, 0, 0, 0, 0, 1}, 0, true, nil},
		{"one byte left", []byte{1, 1, 2, 0, 0, 0, 0, 1, 1}, 1, true, mac1},
	}
	for _, tt := range tests {
		n := 0
		err := NDPOptions(tt.o).Walk(func(typ uint8, data []byte) { n++ })
		if n != tt.n || (err != nil) != tt.err || (err != nil && !errors.Is(err, ErrBadOption)) {
			t.Errorf("%s: %d options, err %v", tt.name, n, err)
		}
		if lla := NDPOptions(tt.o).LinkLayerAddr(NDPOptSourceLLA); !bytes.Equal(lla, tt.lla) {
			t.Errorf("%s: LLA %v, want %v", tt.name, lla, tt.lla)
		}
	}
}

func TestMulticast(t *testing.T) {
	tests := []struct {
		addr string
		mac  string
	}{
		{"224.0.0.1", "01:00:5e:00:00:01"},
		{"239.255.255.250", "01:00:5e:7f:ff:fa"},
		{"224.128.1.2", "01:00:5e:00:01:02"}, // only 23 bits
		{"ff02::1", "33:33:00:00:00:01"},
		{"ff02::1:ff12:3456", "33:33:ff:12:34:56"},
	}
	for _, tt := range tests {
		a := netip.MustParseAddr(tt.addr)
		var got net.HardwareAddr
		if a.Is4() {
			got = IPv4MulticastMAC(a)
		} else {
			got = IPv6MulticastMAC(a)
		}
		if got.String() != tt.mac {
			t.Errorf("%s: %v, want %s", tt.addr, got, tt.mac)
		}
	}
	if IPv4MulticastMAC(netip.MustParseAddr("ff02::1")) != nil || IPv6MulticastMAC(netip.MustParseAddr("224.0.0.1")) != nil {
		t.Error("wrong family gave an address")
	}
	if got := IPv6SolicitedNodeMulticast(netip.MustParseAddr("2001:db8::aabb:ccdd:eeff")); got != netip.MustParseAddr("ff02::1:ffdd:eeff") {
		t.Errorf("solicited-node %v", got)
	}
}

func TestUDPRoundTrip(t *testing.T) {
	u := UDP(make([]byte, 12))
	u.SetSrcPort(1)
	u.SetDstPort(65535)
	u.SetLength(12)
	u.SetChecksum(0)
	copy(u.Payload(), "ping")
	if u.Check(12) != nil || u.SrcPort() != 1 || u.DstPort() != 65535 || u.Length() != 12 || string(u.Payload()) != "ping" {
		t.Fatalf("%v", u)
	}
	v4a, v4b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	v6a, v6b := netip.MustParseAddr("::1"), netip.MustParseAddr("::2")
	if !u.ChecksumValid(v4a, v4b) || u.ChecksumValid(v6a, v6b) {
		t.Error("zero checksum: valid over IPv4 only")
	}
	u.ComputeChecksum(v6a, v6b, Checksum(u.Payload(), 0))
	if u.Checksum() == 0 || !u.ChecksumValid(v6a, v6b) || u.ChecksumValid(v6a, v6a) {
		t.Errorf("IPv6 checksum %#x", u.Checksum())
	}
	// A datagram whose sum is all ones sends 0xffff, not 0 (RFC 768).
	z := UDP(make([]byte, 8))
	z.SetLength(8)
	zero := netip.AddrFrom4([4]byte{})
	// Pseudo header 0+0+17+8 plus length 8: sum 0x21; pick ports that
	// bring the total to 0xffff.
	z.SetSrcPort(0xffff - 0x21)
	z.ComputeChecksum(zero, zero, 0)
	if z.Checksum() != 0xffff || !z.ChecksumValid(zero, zero) {
		t.Errorf("all-ones sum: checksum %#x", z.Checksum())
	}
	for _, tt := range []struct {
		length, pktLen int
		want           error
	}{{7, 12, ErrBadLength}, {13, 12, ErrBadLength}, {8, 8, nil}} {
		u.SetLength(tt.length)
		if err := u.Check(tt.pktLen); !errors.Is(err, tt.want) {
			t.Errorf("length %d pktLen %d: %v", tt.length, tt.pktLen, err)
		}
	}
	if !errors.Is(UDP(u[:7]).Check(7), ErrTruncated) {
		t.Error("7 bytes passed")
	}
}

func TestTCPRoundTrip(t *testing.T) {
	tc := TCP(make([]byte, 30))
	tc.SetSrcPort(443)
	tc.SetDstPort(50000)
	tc.SetSeq(0xfffffffe)
	tc.SetAck(0x80000000)
	tc.SetDataOffset(24)
	tc.SetFlags(TCPFlagAck | TCPFlagPsh | TCPFlagFin)
	tc.SetWindow(512)
	tc.SetChecksum(0x1234)
	tc.SetUrgent(3)
	if tc.Check(30) != nil || tc.SrcPort() != 443 || tc.DstPort() != 50000 || tc.Seq() != 0xfffffffe ||
		tc.Ack() != 0x80000000 || tc.DataOffset() != 24 || tc.Flags() != 0x19 || tc.Window() != 512 ||
		tc.Checksum() != 0x1234 || tc.Urgent() != 3 || len(tc.Options()) != 4 || len(tc.Payload()) != 6 {
		t.Fatalf("%v", tc)
	}
	if got, w := tc.String(), "TCP 443 > 50000: Flags [FP.], seq 4294967294, ack 2147483648, win 512, options 4 bytes, length 6"; got != w {
		t.Errorf("String = %q, want %q", got, w)
	}
	src, dst := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	tc.ComputeChecksum(src, dst, len(tc), Checksum(tc.Payload(), 0))
	if !tc.ChecksumValid(src, dst) {
		t.Error("checksum invalid")
	}
	for _, tt := range []struct {
		off, pktLen int
		want        error
	}{{16, 30, ErrBadLength}, {32, 30, ErrTruncated}, {24, 23, ErrTruncated}, {60, 60, ErrTruncated}} {
		tc.SetDataOffset(tt.off)
		if err := tc.Check(tt.pktLen); !errors.Is(err, tt.want) {
			t.Errorf("offset %d pktLen %d: %v", tt.off, tt.pktLen, err)
		}
	}
	if err := TCPOptions([]byte{TCPOptMSS}, func(uint8, []byte) {}); !errors.Is(err, ErrBadOption) {
		t.Errorf("MSS without length: %v", err)
	}
	if err := TCPOptions([]byte{TCPOptMSS, 4, 5}, func(uint8, []byte) {}); !errors.Is(err, ErrBadOption) {
		t.Errorf("overrun: %v", err)
	}
	if err := TCPOptions([]byte{TCPOptMSS, 1, 5, 5}, func(uint8, []byte) {}); !errors.Is(err, ErrBadOption) {
		t.Errorf("length 1: %v", err)
	}
}

func TestEthernetARPRoundTrip(t *testing.T) {
	e := Ethernet(make([]byte, EthernetLen))
	e.SetDst(mac2)
	e.SetSrc(mac1)
	e.SetType(EtherTypeIPv6)
	if !bytes.Equal(e.Dst(), mac2) || !bytes.Equal(e.Src(), mac1) || e.Type() != EtherTypeIPv6 || len(e.Payload()) != 0 {
		t.Fatalf("%v", e)
	}
	e.SetDst(nil)
	if !bytes.Equal(e.Dst(), make([]byte, 6)) {
		t.Fatal("nil dst")
	}
	if !errors.Is(Ethernet(e[:13]).Check(), ErrTruncated) {
		t.Error("13 bytes passed")
	}

	a := ARP(make([]byte, ARPLen))
	BuildARP(a, ARPRequest, mac1, netip.MustParseAddr("10.0.0.1"), nil, netip.MustParseAddr("10.0.0.2"))
	a.SetOp(ARPReply)
	a.SetSenderHW(mac2)
	a.SetSenderIP(netip.MustParseAddr("10.9.9.9"))
	a.SetTargetHW(mac1)
	a.SetTargetIP(netip.MustParseAddr("10.8.8.8"))
	if a.Check() != nil || a.Op() != ARPReply || !bytes.Equal(a.SenderHW(), mac2) || a.SenderIP() != netip.MustParseAddr("10.9.9.9") ||
		!bytes.Equal(a.TargetHW(), mac1) || a.TargetIP() != netip.MustParseAddr("10.8.8.8") {
		t.Fatalf("%v", a)
	}
	for i, want := range []error{ErrUnsupported, ErrUnsupported, ErrUnsupported, ErrUnsupported} {
		b := append(ARP(nil), a...)
		b[[]int{1, 2, 4, 5}[i]]++
		if err := b.Check(); !errors.Is(err, want) {
			t.Errorf("byte %d changed: %v", i, err)
		}
	}
	if !errors.Is(ARP(a[:27]).Check(), ErrTruncated) {
		t.Error("27 bytes passed")
	}
}

// TestStringNeverPanics feeds every String method short and odd inputs.
func TestStringNeverPanics(t *testing.T) {
	for n := range 80 {
		b := make([]byte, n)
		for i := range b {
			b[i] = 0xff
		}
		for _, s := range []interface{ String() string }{
			Ethernet(b), ARP(b), IPv4(b), IPv6(b), IPv6Fragment(b), ICMPv4(b), ICMPv6(b),
			NDPNeighborSolicit(b), NDPNeighborAdvert(b), NDPOptions(b), UDP(b), TCP(b),
		} {
			_ = s.String()
		}
		for _, typ := range []byte{ICMPv6NeighborSolicit, ICMPv6NeighborAdvert, ICMPv6EchoRequest} {
			if n > 0 {
				b[0] = typ
				_ = ICMPv6(b).String()
			}
		}
	}
}
