package header

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IPv6Len is the length of the fixed IPv6 header (RFC 8200 3).
const IPv6Len = 40

// IPv6FragmentLen is the length of the IPv6 Fragment header (RFC 8200 4.5).
const IPv6FragmentLen = 8

// Offsets of the IPv6 header fields (RFC 8200 3).
const (
	ipv6VersTCFlow = 0 // Version, Traffic Class, Flow Label
	ipv6PayloadLen = 4 // Payload Length
	ipv6NextHeader = 6 // Next Header
	ipv6HopLimit   = 7 // Hop Limit
	ipv6Src        = 8 // Source Address
	ipv6Dst        = 24
)

// IPv6 is a view of an IPv6 packet, fixed header first (RFC 8200).
type IPv6 []byte

// Check reports whether h starts a well-formed IPv6 packet of pktLen bytes:
// the fixed header within h, Version 6, and the header plus Payload Length
// at most pktLen. Once it returns nil no method of h panics (until
// SetPayloadLen changes the length). Jumbograms (RFC 2675) are not
// supported: a zero Payload Length means no payload.
//
// pktLen may exceed len(h) when h views only the first mbuf of a chain;
// Payload is then cut at the end of h.
func (h IPv6) Check(pktLen int) error {
	if len(h) < IPv6Len {
		return fmt.Errorf("ipv6: %d bytes, need %d: %w", len(h), IPv6Len, ErrTruncated)
	}
	if v := h.Version(); v != 6 {
		return fmt.Errorf("ipv6: version %d: %w", v, ErrBadVersion)
	}
	if n := IPv6Len + h.PayloadLen(); n > pktLen {
		return fmt.Errorf("ipv6: payload length %d, packet %d bytes: %w", h.PayloadLen(), pktLen, ErrBadLength)
	}
	return nil
}

// Version returns the Version field (6 for IPv6).
func (h IPv6) Version() uint8 { return h[ipv6VersTCFlow] >> 4 }

// TrafficClass returns the Traffic Class field (DS field and ECN).
func (h IPv6) TrafficClass() uint8 {
	return uint8(binary.BigEndian.Uint16(h[ipv6VersTCFlow:]) >> 4)
}

// FlowLabel returns the 20-bit Flow Label field.
func (h IPv6) FlowLabel() uint32 {
	return binary.BigEndian.Uint32(h[ipv6VersTCFlow:]) & 0xfffff
}

// PayloadLen returns the Payload Length field: the bytes after the fixed
// header, extension headers included.
func (h IPv6) PayloadLen() int { return int(binary.BigEndian.Uint16(h[ipv6PayloadLen:])) }

// NextHeader returns the Next Header field.
func (h IPv6) NextHeader() uint8 { return h[ipv6NextHeader] }

// HopLimit returns the Hop Limit field.
func (h IPv6) HopLimit() uint8 { return h[ipv6HopLimit] }

// Src returns the Source Address.
func (h IPv6) Src() netip.Addr { return netip.AddrFrom16([16]byte(h[ipv6Src : ipv6Src+16])) }

// Dst returns the Destination Address.
func (h IPv6) Dst() netip.Addr { return netip.AddrFrom16([16]byte(h[ipv6Dst : ipv6Dst+16])) }

// Payload returns the bytes after the fixed header, up to Payload Length or
// the end of h, whichever comes first. It aliases h.
func (h IPv6) Payload() []byte {
	return h[IPv6Len:min(IPv6Len+h.PayloadLen(), len(h))]
}

// SetVersion sets the Version field to 6.
func (h IPv6) SetVersion() { h[ipv6VersTCFlow] = 6<<4 | h[ipv6VersTCFlow]&0x0f }

// SetTrafficClass sets the Traffic Class field.
func (h IPv6) SetTrafficClass(tc uint8) {
	v := binary.BigEndian.Uint32(h[ipv6VersTCFlow:])
	v = v&^(0xff<<20) | uint32(tc)<<20
	binary.BigEndian.PutUint32(h[ipv6VersTCFlow:], v)
}

// SetFlowLabel sets the Flow Label field to the low 20 bits of fl.
func (h IPv6) SetFlowLabel(fl uint32) {
	v := binary.BigEndian.Uint32(h[ipv6VersTCFlow:])
	v = v&^0xfffff | fl&0xfffff
	binary.BigEndian.PutUint32(h[ipv6VersTCFlow:], v)
}

// SetPayloadLen sets the Payload Length field. It voids Check.
func (h IPv6) SetPayloadLen(n int) { binary.BigEndian.PutUint16(h[ipv6PayloadLen:], uint16(n)) }

// SetNextHeader sets the Next Header field.
func (h IPv6) SetNextHeader(p uint8) { h[ipv6NextHeader] = p }

// SetHopLimit sets the Hop Limit field.
func (h IPv6) SetHopLimit(v uint8) { h[ipv6HopLimit] = v }

// SetSrc sets the Source Address (an IPv4 address in its mapped form; an
// invalid address as zeros).
func (h IPv6) SetSrc(a netip.Addr) { setIPv6(h[ipv6Src:ipv6Src+16], a) }

// SetDst sets the Destination Address (an IPv4 address in its mapped form;
// an invalid address as zeros).
func (h IPv6) SetDst(a netip.Addr) { setIPv6(h[ipv6Dst:ipv6Dst+16], a) }

// String describes the header like tcpdump -v: "IP6 fe80::1 > ff02::1:
// icmp6, flowlabel 0x00000, hlim 255, tclass 0x00, payload length 32".
func (h IPv6) String() string {
	if len(h) < IPv6Len {
		return h.Check(len(h)).Error()
	}
	s := fmt.Sprintf("IP6 %s > %s: %s, flowlabel 0x%05x, hlim %d, tclass 0x%02x, payload length %d",
		h.Src(), h.Dst(), protoName(h.NextHeader()), h.FlowLabel(), h.HopLimit(), h.TrafficClass(), h.PayloadLen())
	if h.Version() != 6 {
		s += fmt.Sprintf(", bad version %d", h.Version())
	}
	return s
}

// IPv6Fields is the value form of a fixed IPv6 header, for building one with
// Encode.
type IPv6Fields struct {
	TrafficClass uint8      // Traffic Class
	FlowLabel    uint32     // Flow Label (20 bits)
	PayloadLen   int        // Payload Length: what follows the fixed header
	NextHeader   uint8      // Next Header
	HopLimit     uint8      // Hop Limit
	Src, Dst     netip.Addr // Source Address, Destination Address
}

// Encode writes the fixed header into b, which must hold IPv6Len bytes.
func (f IPv6Fields) Encode(b []byte) {
	h := IPv6(b[:IPv6Len])
	binary.BigEndian.PutUint32(h[ipv6VersTCFlow:], 6<<28|uint32(f.TrafficClass)<<20|f.FlowLabel&0xfffff)
	h.SetPayloadLen(f.PayloadLen)
	h.SetNextHeader(f.NextHeader)
	h.SetHopLimit(f.HopLimit)
	h.SetSrc(f.Src)
	h.SetDst(f.Dst)
}

// ParseIPv6Fields returns the fields of a header that has passed Check.
func ParseIPv6Fields(h IPv6) IPv6Fields {
	return IPv6Fields{
		TrafficClass: h.TrafficClass(), FlowLabel: h.FlowLabel(), PayloadLen: h.PayloadLen(),
		NextHeader: h.NextHeader(), HopLimit: h.HopLimit(), Src: h.Src(), Dst: h.Dst(),
	}
}

// String describes the fields in the form of IPv6.String.
func (f IPv6Fields) String() string {
	return fmt.Sprintf("IP6 %s > %s: %s, flowlabel 0x%05x, hlim %d, tclass 0x%02x, payload length %d",
		f.Src, f.Dst, protoName(f.NextHeader), f.FlowLabel, f.HopLimit, f.TrafficClass, f.PayloadLen)
}

// IPv6ExtHeaders walks the extension headers at the start of b, an IPv6
// packet's payload whose first header is next (the fixed header's Next
// Header). It steps over Hop-by-Hop Options, Routing, Destination Options
// (each 8 × (Hdr Ext Len + 1) bytes, RFC 8200 4.3, 4.4, 4.6) and Fragment
// headers (8 bytes, 4.5), calling f with each header's type and bytes
// (aliasing b) after checking that it fits in b. It returns the first
// protocol that is not one of these (the upper layer, or ProtoIPv6NoNext)
// and its offset in b.
//
// After a Fragment header whose Fragment Offset is not zero the walk stops,
// returning that header's Next Header and the offset after it: what follows
// is the middle of the fragmentable part, not headers. Callers that
// reassemble act when f sees ProtoIPv6Frag and walk the reassembled packet.
//
// The error wraps ErrTruncated if a header runs past b, ErrBadOption if a
// Hop-by-Hop Options header is not the first one (RFC 8200 4.1), or is what
// f returned, the walk stopping there.
func IPv6ExtHeaders(next uint8, b []byte, f func(typ uint8, hdr []byte) error) (upper uint8, off int, err error) {
	for {
		var n int
		switch next {
		case ProtoIPv6Hop, ProtoIPv6Route, ProtoIPv6Dst:
			if next == ProtoIPv6Hop && off != 0 {
				return next, off, fmt.Errorf("ipv6: hop-by-hop options at offset %d: %w", off, ErrBadOption)
			}
			if len(b)-off < 2 {
				return next, off, fmt.Errorf("ipv6: %s header at %d: %w", protoName(next), off, ErrTruncated)
			}
			n = (int(b[off+1]) + 1) * 8
		case ProtoIPv6Frag:
			n = IPv6FragmentLen
		default:
			return next, off, nil
		}
		if len(b)-off < n {
			return next, off, fmt.Errorf("ipv6: %s header at %d: %d bytes, have %d: %w",
				protoName(next), off, n, len(b)-off, ErrTruncated)
		}
		hdr := b[off : off+n : off+n]
		if f != nil {
			if err := f(next, hdr); err != nil {
				return next, off, err
			}
		}
		typ := next
		next = hdr[0]
		off += n
		if typ == ProtoIPv6Frag && IPv6Fragment(hdr).FragOffset() != 0 {
			return next, off, nil
		}
	}
}

// Offsets of the Fragment header fields (RFC 8200 4.5).
const (
	ipv6FragNext   = 0 // Next Header
	ipv6FragOffset = 2 // Fragment Offset, Res, M flag
	ipv6FragID     = 4 // Identification
)

// IPv6Fragment is a view of an IPv6 Fragment header (RFC 8200 4.5).
type IPv6Fragment []byte

// Check reports whether f holds a whole Fragment header; once it returns nil
// no method of f panics.
func (f IPv6Fragment) Check() error {
	if len(f) < IPv6FragmentLen {
		return fmt.Errorf("ipv6 fragment: %d bytes, need %d: %w", len(f), IPv6FragmentLen, ErrTruncated)
	}
	return nil
}

// NextHeader returns the Next Header field: the first header of the
// fragmentable part.
func (f IPv6Fragment) NextHeader() uint8 { return f[ipv6FragNext] }

// FragOffset returns the Fragment Offset converted to bytes (the field counts
// 8-octet units).
func (f IPv6Fragment) FragOffset() int {
	return int(binary.BigEndian.Uint16(f[ipv6FragOffset:]) &^ 7)
}

// M reports the M flag: more fragments follow.
func (f IPv6Fragment) M() bool { return f[ipv6FragOffset+1]&1 != 0 }

// ID returns the Identification field.
func (f IPv6Fragment) ID() uint32 { return binary.BigEndian.Uint32(f[ipv6FragID:]) }

// SetNextHeader sets the Next Header field.
func (f IPv6Fragment) SetNextHeader(p uint8) { f[ipv6FragNext] = p }

// SetFragOffset sets the Fragment Offset (off in bytes, a multiple of 8) and
// the M flag, clearing Res.
func (f IPv6Fragment) SetFragOffset(off int, more bool) {
	v := uint16(off) &^ 7
	if more {
		v |= 1
	}
	binary.BigEndian.PutUint16(f[ipv6FragOffset:], v)
}

// SetID sets the Identification field.
func (f IPv6Fragment) SetID(id uint32) { binary.BigEndian.PutUint32(f[ipv6FragID:], id) }

// BuildIPv6Fragment writes a Fragment header into b (8 bytes): Next Header
// next, Reserved 0, Fragment Offset off bytes (a multiple of 8), the M flag
// and Identification id.
func BuildIPv6Fragment(b []byte, next uint8, off int, more bool, id uint32) {
	f := IPv6Fragment(b[:IPv6FragmentLen])
	f.SetNextHeader(next)
	f[1] = 0
	f.SetFragOffset(off, more)
	f.SetID(id)
}

// String describes the header like tcpdump: "frag (0x00000001:1448|1232)"
// gives the identification, offset and whether more follow.
func (f IPv6Fragment) String() string {
	if err := f.Check(); err != nil {
		return err.Error()
	}
	m := ""
	if f.M() {
		m = ", more"
	}
	return fmt.Sprintf("frag (id 0x%08x, offset %d%s), next %s", f.ID(), f.FragOffset(), m, protoName(f.NextHeader()))
}
