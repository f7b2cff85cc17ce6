package header

import (
	"bytes"
	"encoding/hex"
	"net"
	"net/netip"
	"strings"
	"testing"
)

// unhex decodes hex written with spaces and newlines for readability.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var (
	mac1 = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}
	mac2 = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}
)

// An ICMP echo request 10.0.0.1 > 10.0.0.2, id 1, seq 1, data "abcd". The
// checksums were computed by hand: ICMP 0x0800+0x0001+0x0001+0x6162+0x6364
// = 0xccc8, complemented 0x3337; the IP header sums to 0xb56a, 0x4a95.
const goldenICMPEcho = `
45 00 00 20 1c 46 00 00 40 01 4a 95 0a 00 00 01 0a 00 00 02
08 00 33 37 00 01 00 01 61 62 63 64`

func TestGoldenICMPEcho(t *testing.T) {
	want := unhex(t, goldenICMPEcho)
	b := make([]byte, 32)
	f := IPv4Fields{TotalLen: 32, ID: 0x1c46, TTL: 64, Protocol: ProtoICMP,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}
	if n := f.Encode(b); n != IPv4MinLen {
		t.Fatalf("Encode = %d, want 20", n)
	}
	ic := ICMPv4(b[20:])
	ic.SetType(ICMPv4Echo)
	ic.SetCode(0)
	ic.SetID(1)
	ic.SetSeq(1)
	copy(ic.Payload(), "abcd")
	ic.ComputeChecksum()
	if !bytes.Equal(b, want) {
		t.Fatalf("built\n%x\nwant\n%x", b, want)
	}

	// Parse it back.
	h := IPv4(want)
	if err := h.Check(len(want)); err != nil {
		t.Fatal(err)
	}
	if !h.ChecksumValid() {
		t.Error("IP checksum invalid")
	}
	if got := ParseIPv4Fields(h); got.String() != f.String() {
		t.Errorf("parsed %v, want %v", got, f)
	}
	p := ICMPv4(h.Payload())
	if err := p.Check(); err != nil {
		t.Fatal(err)
	}
	if p.Type() != ICMPv4Echo || p.ID() != 1 || p.Seq() != 1 || string(p.Payload()) != "abcd" ||
		p.Checksum() != 0x3337 || !p.ChecksumValid() {
		t.Errorf("parsed %v", p)
	}
	if got, w := h.String(), "IP 10.0.0.1 > 10.0.0.2: icmp, tos 0x0, ttl 64, id 7238, offset 0, flags [none], length 32"; got != w {
		t.Errorf("String = %q, want %q", got, w)
	}
	if got, w := p.String(), "ICMP echo request, id 1, seq 1, length 12"; got != w {
		t.Errorf("String = %q, want %q", got, w)
	}
}

// A DNS query 127.0.0.1.40000 > 127.0.0.1.53 for example.com A, as Linux
// sent it (captured on lo). The IP header is the kernel's; the UDP checksum
// Linux leaves partial on lo, so 0x838a was computed separately (a Python
// RFC 1071 sum over the pseudo header and datagram).
const goldenUDP = `
45 00 00 39 dc 44 40 00 40 11 60 6d 7f 00 00 01 7f 00 00 01
9c 40 00 35 00 25 83 8a
12 34 01 00 00 01 00 00 00 00 00 00 07 65 78 61 6d 70 6c 65 03 63 6f 6d 00 00 01 00 01`

func TestGoldenUDP(t *testing.T) {
	want := unhex(t, goldenUDP)
	lo := netip.MustParseAddr("127.0.0.1")
	dns := want[28:]

	b := make([]byte, len(want))
	f := IPv4Fields{TotalLen: len(want), ID: 0xdc44, DF: true, TTL: 64, Protocol: ProtoUDP, Src: lo, Dst: lo}
	f.Encode(b)
	UDPFields{SrcPort: 40000, DstPort: 53, Length: UDPLen + len(dns)}.Encode(b[20:])
	copy(b[28:], dns)
	UDP(b[20:]).ComputeChecksum(lo, lo, Checksum(dns, 0))
	if !bytes.Equal(b, want) {
		t.Fatalf("built\n%x\nwant\n%x", b, want)
	}

	h := IPv4(want)
	if err := h.Check(len(want)); err != nil {
		t.Fatal(err)
	}
	if !h.ChecksumValid() || h.HeaderChecksum() != 0x606d || !h.DF() || h.MF() || h.Protocol() != ProtoUDP {
		t.Errorf("parsed %v", h)
	}
	u := UDP(h.Payload())
	if err := u.Check(len(u)); err != nil {
		t.Fatal(err)
	}
	if u.SrcPort() != 40000 || u.DstPort() != 53 || u.Length() != 37 || !bytes.Equal(u.Payload(), dns) {
		t.Errorf("parsed %v", u)
	}
	if !u.ChecksumValid(lo, lo) {
		t.Error("UDP checksum invalid")
	}
	want[30] ^= 1 // a flipped bit in the data
	if u.ChecksumValid(lo, lo) {
		t.Error("UDP checksum valid after corruption")
	}
	if got, w := u.String(), "UDP, 40000 > 53, length 29"; got != w {
		t.Errorf("String = %q, want %q", got, w)
	}
	if got, w := h.String(), "IP 127.0.0.1 > 127.0.0.1: udp, tos 0x0, ttl 64, id 56388, offset 0, flags [DF], length 57"; got != w {
		t.Errorf("String = %q, want %q", got, w)
	}
}

// The IPv4 header of Wikipedia's checksum example ("IPv4 header checksum"):
// 192.168.0.1 > 192.168.0.199, UDP, total length 115, checksum 0xb861.
func TestGoldenIPv4Wikipedia(t *testing.T) {
	want := unhex(t, "4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7")
	b := make([]byte, 20)
	IPv4Fields{TotalLen: 0x73, DF: true, TTL: 64, Protocol: ProtoUDP,
		Src: netip.MustParseAddr("192.168.0.1"), Dst: netip.MustParseAddr("192.168.0.199")}.Encode(b)
	if !bytes.Equal(b, want) {
		t.Fatalf("built %x, want %x", b, want)
	}
	if !IPv4(want).ChecksumValid() {
		t.Fatal("checksum invalid")
	}
}

// A Neighbor Solicitation fe80::1 > ff02::1:ff00:2 for fe80::2 with a source
// link-layer address option 02:00:00:00:00:01. Checksum 0x7a97 computed
// separately (a Python RFC 1071 sum over the IPv6 pseudo header).
const goldenNS = `
60 00 00 00 00 20 3a ff
fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 01
ff 02 00 00 00 00 00 00 00 00 00 01 ff 00 00 02
87 00 7a 97 00 00 00 00
fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 02
01 01 02 00 00 00 00 01`

func TestGoldenNDPNS(t *testing.T) {
	want := unhex(t, goldenNS)
	src, target := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("fe80::2")
	dst := IPv6SolicitedNodeMulticast(target)
	if dst != netip.MustParseAddr("ff02::1:ff00:2") {
		t.Fatalf("solicited-node of %v = %v", target, dst)
	}
	b := make([]byte, 72)
	n := BuildNDPNS(b[IPv6Len:], target, mac1)
	if n != 32 {
		t.Fatalf("BuildNDPNS = %d, want 32", n)
	}
	IPv6Fields{PayloadLen: n, NextHeader: ProtoICMPv6, HopLimit: 255, Src: src, Dst: dst}.Encode(b)
	ICMPv6(b[IPv6Len:]).ComputeChecksum(src, dst)
	if !bytes.Equal(b, want) {
		t.Fatalf("built\n%x\nwant\n%x", b, want)
	}

	h := IPv6(want)
	if err := h.Check(len(want)); err != nil {
		t.Fatal(err)
	}
	upper, off, err := IPv6ExtHeaders(h.NextHeader(), h.Payload(), nil)
	if err != nil || upper != ProtoICMPv6 || off != 0 {
		t.Fatalf("IPv6ExtHeaders = %d, %d, %v", upper, off, err)
	}
	ic := ICMPv6(h.Payload())
	if ic.Check() != nil || ic.Type() != ICMPv6NeighborSolicit || !ic.ChecksumValid(h.Src(), h.Dst()) {
		t.Fatalf("parsed %v", ic)
	}
	ns := NDPNeighborSolicit(ic)
	if ns.Check() != nil || ns.TargetAddress() != target {
		t.Fatalf("parsed %v", ns)
	}
	if err := ns.Options().Walk(func(uint8, []byte) {}); err != nil {
		t.Fatal(err)
	}
	if lla := ns.Options().LinkLayerAddr(NDPOptSourceLLA); !bytes.Equal(lla, mac1) {
		t.Errorf("source LLA %v", lla)
	}
	if lla := ns.Options().LinkLayerAddr(NDPOptTargetLLA); lla != nil {
		t.Errorf("target LLA %v", lla)
	}
	if got, w := ic.String(), "ICMP6, neighbor solicitation, who has fe80::2, source link-address 02:00:00:00:00:01, length 32"; got != w {
		t.Errorf("String = %q, want %q", got, w)
	}
	if got, w := h.String(), "IP6 fe80::1 > ff02::1:ff00:2: icmp6, flowlabel 0x00000, hlim 255, tclass 0x00, payload length 32"; got != w {
		t.Errorf("String = %q, want %q", got, w)
	}
}

func TestGoldenNDPNA(t *testing.T) {
	// RFC 4861 4.4: type 136, R S O flags, target, target LLA option.
	want := unhex(t, `88 00 00 00 60 00 00 00
		fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 02
		02 01 02 00 00 00 00 02`)
	target := netip.MustParseAddr("fe80::2")
	b := make([]byte, 32)
	if n := BuildNDPNA(b, target, false, true, true, mac2); n != 32 {
		t.Fatalf("BuildNDPNA = %d", n)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("built %x, want %x", b, want)
	}
	na := NDPNeighborAdvert(want)
	if na.Check() != nil || na.Router() || !na.Solicited() || !na.Override() || na.TargetAddress() != target {
		t.Fatalf("parsed %v", na)
	}
	if lla := na.Options().LinkLayerAddr(NDPOptTargetLLA); !bytes.Equal(lla, mac2) {
		t.Errorf("target LLA %v", lla)
	}
	if n := BuildNDPNA(b, target, true, false, false, nil); n != 24 {
		t.Fatalf("BuildNDPNA without LLA = %d", n)
	}
	if got, w := NDPNeighborAdvert(b[:24]).String(), "ICMP6, neighbor advertisement, tgt is fe80::2, Flags [router], length 24"; got != w {
		t.Errorf("String = %q, want %q", got, w)
	}
}

// An ARP request: who has 10.0.0.2, tell 10.0.0.1 at 02:00:00:00:00:01,
// in its broadcast Ethernet frame (RFC 826, "Packet format").
const goldenARP = `
ff ff ff ff ff ff 02 00 00 00 00 01 08 06
00 01 08 00 06 04 00 01 02 00 00 00 00 01 0a 00 00 01
00 00 00 00 00 00 0a 00 00 02`

func TestGoldenARP(t *testing.T) {
	want := unhex(t, goldenARP)
	spa, tpa := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	b := make([]byte, EthernetLen+ARPLen)
	e := Ethernet(b)
	e.SetDst(BroadcastMAC())
	e.SetSrc(mac1)
	e.SetType(EtherTypeARP)
	BuildARP(e.Payload(), ARPRequest, mac1, spa, nil, tpa)
	if !bytes.Equal(b, want) {
		t.Fatalf("built\n%x\nwant\n%x", b, want)
	}

	e = Ethernet(want)
	if e.Check() != nil || e.Type() != EtherTypeARP || !bytes.Equal(e.Dst(), BroadcastMAC()) || !bytes.Equal(e.Src(), mac1) {
		t.Fatalf("parsed %v", e)
	}
	a := ARP(e.Payload())
	if err := a.Check(); err != nil {
		t.Fatal(err)
	}
	if a.Op() != ARPRequest || !bytes.Equal(a.SenderHW(), mac1) || a.SenderIP() != spa ||
		!bytes.Equal(a.TargetHW(), make([]byte, 6)) || a.TargetIP() != tpa {
		t.Fatalf("parsed %v", a)
	}
	if got, w := e.String(), "02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42"; got != w {
		t.Errorf("String = %q, want %q", got, w)
	}
	if got, w := a.String(), "ARP, Request who-has 10.0.0.2 tell 10.0.0.1 (02:00:00:00:00:01)"; got != w {
		t.Errorf("String = %q, want %q", got, w)
	}
	BuildARP(b[EthernetLen:], ARPReply, mac2, tpa, mac1, spa)
	if got, w := ARP(b[EthernetLen:]).String(), "ARP, Reply 10.0.0.2 is-at 02:00:00:00:00:02"; got != w {
		t.Errorf("String = %q, want %q", got, w)
	}
}

// A TCP SYN 10.0.0.1.1234 > 10.0.0.2.80 with MSS 1460, SACK permitted,
// timestamps, NOP, window scale 7: the options Linux sends.
func TestGoldenTCPSyn(t *testing.T) {
	seg := unhex(t, `04 d2 00 50 00 00 00 01 00 00 00 00 a0 02 fa f0 00 00 00 00
		02 04 05 b4 04 02 08 0a 00 00 00 64 00 00 00 00 01 03 03 07`)
	src, dst := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	tc := TCP(seg)
	if err := tc.Check(len(seg)); err != nil {
		t.Fatal(err)
	}
	tc.ComputeChecksum(src, dst, len(seg), 0)
	if !tc.ChecksumValid(src, dst) {
		t.Fatal("checksum invalid")
	}
	pseudo := []byte{10, 0, 0, 1, 10, 0, 0, 2, 0, 6, 0, 40}
	if got := naiveChecksum(append(pseudo, seg...), 0); got != 0xffff {
		t.Fatalf("naive sum %#04x", got)
	}
	if tc.SrcPort() != 1234 || tc.DstPort() != 80 || tc.Seq() != 1 || tc.DataOffset() != 40 ||
		tc.Flags() != TCPFlagSyn || tc.Window() != 64240 || len(tc.Payload()) != 0 {
		t.Fatalf("parsed %v", tc)
	}
	type opt struct {
		kind uint8
		data string
	}
	var got []opt
	if err := TCPOptions(tc.Options(), func(k uint8, d []byte) { got = append(got, opt{k, hex.EncodeToString(d)}) }); err != nil {
		t.Fatal(err)
	}
	want := []opt{{TCPOptMSS, "05b4"}, {TCPOptSACKPermitted, ""}, {TCPOptTimestamp, "0000006400000000"}, {TCPOptWindowScale, "07"}}
	if len(got) != len(want) {
		t.Fatalf("options %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("options %v, want %v", got, want)
		}
	}
	if s, w := tc.String(), "TCP 1234 > 80: Flags [S], seq 1, win 64240, options 20 bytes, length 0"; s != w {
		t.Errorf("String = %q, want %q", s, w)
	}
}
