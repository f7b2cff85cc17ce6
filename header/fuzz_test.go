package header

import (
	"bytes"
	"net/netip"
	"testing"
)

// within reports whether s is a subslice of b (or empty).
func within(s, b []byte) bool {
	if len(s) == 0 {
		return true
	}
	if len(b) == 0 || cap(s) > cap(b) {
		return false
	}
	// s aliases b iff its last byte is one of b's bytes.
	last := &s[len(s)-1]
	for i := range b {
		if &b[i] == last {
			return i+1 >= len(s)
		}
	}
	return false
}

func FuzzIPv4(f *testing.F) {
	f.Add(unhex(f, goldenICMPEcho), 32)
	f.Add(unhex(f, goldenUDP), 57)
	f.Add(unhex(f, "46000018000000004011000001020304050607089404000000"), 25)
	f.Add([]byte{0x4f}, 1)
	f.Fuzz(func(t *testing.T, b []byte, pktLen int) {
		h := IPv4(b)
		_ = h.String()
		if h.Check(pktLen) != nil {
			return
		}
		_, _, _, _, _ = h.Version(), h.TOS(), h.ID(), h.Flags(), h.TTL()
		_, _, _, _ = h.Protocol(), h.HeaderChecksum(), h.Src(), h.Dst()
		_, _, _ = h.DF(), h.MF(), h.ChecksumValid()
		if h.FragOffset() > 65528 || h.FragOffset()%8 != 0 {
			t.Fatalf("FragOffset %d", h.FragOffset())
		}
		opts, pay := h.Options(), h.Payload()
		if !within(opts, b) || !within(pay, b) || len(opts) != h.HeaderLen()-IPv4MinLen ||
			len(pay) > h.TotalLen()-h.HeaderLen() {
			t.Fatalf("options %d payload %d out of bounds", len(opts), len(pay))
		}
		_ = IPv4Options(opts, func(typ uint8, data []byte) {
			if !within(data, opts) {
				t.Fatal("option data out of bounds")
			}
		})
		// Parse, emit, parse.
		fields := ParseIPv4Fields(h)
		out := make([]byte, fields.HeaderLen())
		if n := fields.Encode(out); n != h.HeaderLen() {
			t.Fatalf("Encode = %d, header %d", n, h.HeaderLen())
		}
		again := ParseIPv4Fields(IPv4(out))
		again.Options, fields.Options = nil, nil
		if again.String() != fields.String() || !IPv4(out).ChecksumValid() {
			t.Fatalf("round trip: %v != %v", again, fields)
		}
		if !bytes.Equal(out[IPv4MinLen:], h.Options()) {
			t.Fatal("options differ")
		}
	})
}

func FuzzIPv4Options(f *testing.F) {
	f.Add([]byte{1, 1, IPv4OptRA, 4, 0, 0, 0})
	f.Add([]byte{IPv4OptRR, 7, 4, 0, 0, 0, 0, 1, 0})
	f.Add([]byte{IPv4OptTS, 0})
	f.Add([]byte{IPv4OptLSRR})
	f.Fuzz(func(t *testing.T, opts []byte) {
		total := 0
		err := IPv4Options(opts, func(typ uint8, data []byte) {
			if typ == IPv4OptEOL || typ == IPv4OptNOP || !within(data, opts) {
				t.Fatalf("option %d, %d bytes", typ, len(data))
			}
			total += len(data) + 2
		})
		if total > len(opts) {
			t.Fatalf("options cover %d of %d bytes", total, len(opts))
		}
		_ = err
	})
}

func FuzzIPv6ExtHeaders(f *testing.F) {
	f.Add(uint8(ProtoIPv6Hop), []byte{ProtoIPv6Dst, 0, 1, 4, 0, 0, 0, 0, ProtoIPv6Frag, 0, 1, 4, 0, 0, 0, 0,
		ProtoUDP, 0, 0, 1, 0, 0, 0, 1, 0, 0})
	f.Add(uint8(ProtoIPv6Route), []byte{ProtoIPv6NoNext, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add(uint8(ProtoIPv6Frag), []byte{ProtoIPv6Dst, 0, 0, 8, 0, 0, 0, 1, 0, 0})
	f.Add(uint8(ProtoIPv6Dst), []byte{ProtoIPv6Hop, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, next uint8, b []byte) {
		end := 0
		upper, off, err := IPv6ExtHeaders(next, b, func(typ uint8, hdr []byte) error {
			if !within(hdr, b) || len(hdr) < 8 || len(hdr)%8 != 0 {
				t.Fatalf("header %d: %d bytes", typ, len(hdr))
			}
			if typ == ProtoIPv6Frag {
				fr := IPv6Fragment(hdr)
				if fr.Check() != nil {
					t.Fatal("fragment header fails Check")
				}
				_, _, _, _ = fr.NextHeader(), fr.FragOffset(), fr.M(), fr.ID()
				_ = fr.String()
			}
			end += len(hdr)
			return nil
		})
		if off < 0 || off > len(b) || (err == nil && off != end) {
			t.Fatalf("upper %d off %d end %d err %v", upper, off, end, err)
		}
		// The same bytes after a fixed header.
		p := make([]byte, IPv6Len+len(b))
		IPv6Fields{PayloadLen: len(b), NextHeader: next, HopLimit: 1}.Encode(p)
		copy(p[IPv6Len:], b)
		h := IPv6(p)
		if h.Check(len(p)) != nil || !bytes.Equal(h.Payload(), b) {
			t.Fatal("IPv6 view")
		}
		_ = h.String()
	})
}

func FuzzIPv6(f *testing.F) {
	f.Add(unhex(f, goldenNS), 72)
	f.Fuzz(func(t *testing.T, b []byte, pktLen int) {
		h := IPv6(b)
		_ = h.String()
		if h.Check(pktLen) != nil {
			return
		}
		if p := h.Payload(); !within(p, b) || len(p) > h.PayloadLen() {
			t.Fatal("payload out of bounds")
		}
		fields := ParseIPv6Fields(h)
		out := make([]byte, IPv6Len)
		fields.Encode(out)
		if ParseIPv6Fields(IPv6(out)) != fields || !bytes.Equal(out, b[:IPv6Len]) {
			t.Fatalf("round trip %x != %x", out, b[:IPv6Len])
		}
	})
}

func FuzzICMPv4(f *testing.F) {
	f.Add(unhex(f, goldenICMPEcho)[20:])
	f.Add([]byte{3, 4, 0, 0, 0, 0, 5, 0xdc, 0x45})
	f.Add([]byte{5, 1, 0, 0, 10, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		h := ICMPv4(b)
		_ = h.String()
		if h.Check() != nil {
			return
		}
		_, _, _, _, _ = h.Type(), h.Code(), h.Checksum(), h.ID(), h.Seq()
		_, _, _ = h.MTU(), h.Pointer(), h.Gateway()
		if !within(h.Payload(), b) {
			t.Fatal("payload out of bounds")
		}
		c := append(ICMPv4(nil), h...)
		c.ComputeChecksum()
		if !c.ChecksumValid() {
			t.Fatal("computed checksum invalid")
		}
	})
}

func FuzzICMPv6NDP(f *testing.F) {
	f.Add(unhex(f, goldenNS)[IPv6Len:])
	f.Add([]byte{136, 0, 0, 0, 0xe0, 0, 0, 0, 15: 1, 23: 2, 2, 1, 2, 0, 0, 0, 0, 2})
	f.Add([]byte{135, 0, 0, 0, 0, 0, 0, 0, 23: 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h := ICMPv6(b)
		_ = h.String()
		if h.Check() == nil {
			_, _, _, _, _ = h.Type(), h.Code(), h.Checksum(), h.ID(), h.Seq()
			_, _ = h.MTU(), h.Pointer()
			if !within(h.Payload(), b) {
				t.Fatal("payload out of bounds")
			}
			src, dst := netip.MustParseAddr("fe80::1"), netip.MustParseAddr("ff02::1")
			c := append(ICMPv6(nil), h...)
			c.ComputeChecksum(src, dst)
			if !c.ChecksumValid(src, dst) {
				t.Fatal("computed checksum invalid")
			}
		}
		checkOpts := func(o NDPOptions) {
			_ = o.String()
			_ = o.Walk(func(typ uint8, data []byte) {
				if !within(data, o) || (len(data)+2)%8 != 0 {
					t.Fatalf("option %d: %d bytes", typ, len(data))
				}
			})
			for _, typ := range []uint8{NDPOptSourceLLA, NDPOptTargetLLA} {
				if lla := o.LinkLayerAddr(typ); lla != nil && (len(lla) != 6 || !within(lla, o)) {
					t.Fatalf("LLA %x", lla)
				}
			}
		}
		if ns := NDPNeighborSolicit(b); ns.Check() == nil {
			_ = ns.TargetAddress()
			checkOpts(ns.Options())
			_ = ns.String()
		}
		if na := NDPNeighborAdvert(b); na.Check() == nil {
			_, _, _, _ = na.Router(), na.Solicited(), na.Override(), na.TargetAddress()
			checkOpts(na.Options())
			_ = na.String()
			// Rebuild from the parsed fields and parse again.
			out := make([]byte, 32)
			n := BuildNDPNA(out, na.TargetAddress(), na.Router(), na.Solicited(), na.Override(),
				na.Options().LinkLayerAddr(NDPOptTargetLLA))
			again := NDPNeighborAdvert(out[:n])
			if again.Check() != nil || again.TargetAddress() != na.TargetAddress() || again.Router() != na.Router() ||
				again.Solicited() != na.Solicited() || again.Override() != na.Override() ||
				!bytes.Equal(again.Options().LinkLayerAddr(NDPOptTargetLLA), na.Options().LinkLayerAddr(NDPOptTargetLLA)) {
				t.Fatalf("round trip %v != %v", again, na)
			}
		}
	})
}

func FuzzUDP(f *testing.F) {
	f.Add(unhex(f, goldenUDP)[20:], 37)
	f.Add([]byte{0, 1, 0, 2, 0, 8, 0, 0}, 8)
	f.Add([]byte{0, 1, 0, 2, 0, 7, 0, 0}, 100)
	f.Fuzz(func(t *testing.T, b []byte, pktLen int) {
		u := UDP(b)
		_ = u.String()
		if u.Check(pktLen) != nil {
			return
		}
		_, _, _, _ = u.SrcPort(), u.DstPort(), u.Length(), u.Checksum()
		if p := u.Payload(); !within(p, b) || len(p) > u.Length()-UDPLen {
			t.Fatal("payload out of bounds")
		}
		a := netip.MustParseAddr("192.0.2.1")
		_ = u.ChecksumValid(a, a)
		if u.Length() <= len(b) {
			c := append(UDP(nil), u...)
			c.ComputeChecksum(a, a, Checksum(c.Payload(), 0))
			if !c.ChecksumValid(a, a) {
				t.Fatal("computed checksum invalid")
			}
		}
	})
}

func FuzzTCPOptions(f *testing.F) {
	f.Add(unhex(f, "0204 05b4 0402 080a 0000 0064 0000 0000 0103 0307"))
	f.Add([]byte{TCPOptSACK, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0})
	f.Add([]byte{TCPOptMSS, 0})
	f.Add([]byte{1, 1, 1})
	f.Fuzz(func(t *testing.T, opts []byte) {
		total := 0
		_ = TCPOptions(opts, func(kind uint8, data []byte) {
			if kind == TCPOptEOL || kind == TCPOptNOP || !within(data, opts) {
				t.Fatalf("option %d, %d bytes", kind, len(data))
			}
			total += len(data) + 2
		})
		if total > len(opts) {
			t.Fatalf("options cover %d of %d bytes", total, len(opts))
		}
		// The same options in a segment.
		hl := TCPMinLen + (len(opts)+3)&^3
		if hl > TCPMaxHeaderLen {
			return
		}
		seg := make(TCP, hl+3)
		seg.SetDataOffset(hl)
		copy(seg[TCPMinLen:], opts)
		if seg.Check(len(seg)) != nil || !bytes.Equal(seg.Options()[:len(opts)], opts) || len(seg.Payload()) != 3 {
			t.Fatal("segment view")
		}
		_ = seg.String()
	})
}

func FuzzTCP(f *testing.F) {
	f.Add(unhex(f, `04 d2 00 50 00 00 00 01 00 00 00 00 a0 02 fa f0 00 00 00 00
		02 04 05 b4 04 02 08 0a 00 00 00 64 00 00 00 00 01 03 03 07`), 40)
	f.Fuzz(func(t *testing.T, b []byte, pktLen int) {
		tc := TCP(b)
		_ = tc.String()
		if tc.Check(pktLen) != nil {
			return
		}
		_, _, _, _, _ = tc.SrcPort(), tc.DstPort(), tc.Seq(), tc.Ack(), tc.Flags()
		_, _, _ = tc.Window(), tc.Checksum(), tc.Urgent()
		if !within(tc.Options(), b) || !within(tc.Payload(), b) || len(tc.Options())+len(tc.Payload()) != len(b)-TCPMinLen {
			t.Fatal("out of bounds")
		}
		_ = TCPOptions(tc.Options(), func(uint8, []byte) {})
	})
}

func FuzzARP(f *testing.F) {
	f.Add(unhex(f, goldenARP)[EthernetLen:])
	f.Add(make([]byte, 28))
	f.Fuzz(func(t *testing.T, b []byte) {
		a := ARP(b)
		_ = a.String()
		_ = Ethernet(b).String()
		if a.Check() != nil {
			return
		}
		out := make([]byte, ARPLen)
		BuildARP(out, a.Op(), a.SenderHW(), a.SenderIP(), a.TargetHW(), a.TargetIP())
		if !bytes.Equal(out, b[:ARPLen]) {
			t.Fatalf("round trip %x != %x", out, b[:ARPLen])
		}
	})
}
