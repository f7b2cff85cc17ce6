package header

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ICMPv6MinLen is the length of the ICMPv6 header as this package views it:
// type, code, checksum and the first 4 bytes of the message body (RFC 4443
// 2.1), which every message defined here has.
const ICMPv6MinLen = 8

// ICMPv6 message types (RFC 4443 2.1, RFC 4861 4, RFC 2710 3, RFC 3810 5).
const (
	ICMPv6DestUnreachable = 1   // Destination Unreachable
	ICMPv6PacketTooBig    = 2   // Packet Too Big
	ICMPv6TimeExceeded    = 3   // Time Exceeded
	ICMPv6ParamProblem    = 4   // Parameter Problem
	ICMPv6EchoRequest     = 128 // Echo Request
	ICMPv6EchoReply       = 129 // Echo Reply
	ICMPv6MLDQuery        = 130 // Multicast Listener Query
	ICMPv6MLDReport       = 131 // Multicast Listener Report (MLDv1)
	ICMPv6MLDDone         = 132 // Multicast Listener Done (MLDv1)
	ICMPv6RouterSolicit   = 133 // Router Solicitation
	ICMPv6RouterAdvert    = 134 // Router Advertisement
	ICMPv6NeighborSolicit = 135 // Neighbor Solicitation
	ICMPv6NeighborAdvert  = 136 // Neighbor Advertisement
	ICMPv6Redirect        = 137 // Redirect
	ICMPv6MLDv2Report     = 143 // Version 2 Multicast Listener Report
)

// ICMPv6 Destination Unreachable codes (RFC 4443 3.1).
const (
	ICMPv6NoRoute         = 0 // no route to destination
	ICMPv6AdminProhibited = 1 // communication administratively prohibited
	ICMPv6AddrUnreachable = 3 // address unreachable
	ICMPv6PortUnreachable = 4 // port unreachable
)

// ICMPv6 Time Exceeded codes (RFC 4443 3.3).
const (
	ICMPv6HopLimitExceeded       = 0 // hop limit exceeded in transit
	ICMPv6ReassemblyTimeExceeded = 1 // fragment reassembly time exceeded
)

// ICMPv6 Parameter Problem codes (RFC 4443 3.4).
const (
	ICMPv6ErroneousHeader   = 0 // erroneous header field encountered
	ICMPv6UnknownNextHeader = 1 // unrecognized Next Header type encountered
	ICMPv6UnknownOption     = 2 // unrecognized IPv6 option encountered
)

// ICMPv6 is a view of an ICMPv6 message, header first (RFC 4443).
type ICMPv6 []byte

// Check reports whether h holds the 8 bytes every message here starts
// with; once it returns nil no method of h panics.
func (h ICMPv6) Check() error {
	if len(h) < ICMPv6MinLen {
		return fmt.Errorf("icmp6: %d bytes, need %d: %w", len(h), ICMPv6MinLen, ErrTruncated)
	}
	return nil
}

// Type returns the Type field.
func (h ICMPv6) Type() uint8 { return h[icmpType] }

// Code returns the Code field.
func (h ICMPv6) Code() uint8 { return h[icmpCode] }

// Checksum returns the Checksum field.
func (h ICMPv6) Checksum() uint16 { return binary.BigEndian.Uint16(h[icmpChecksum:]) }

// ID returns the Identifier field of an Echo Request or Reply.
func (h ICMPv6) ID() uint16 { return binary.BigEndian.Uint16(h[icmpID:]) }

// Seq returns the Sequence Number field of an Echo Request or Reply.
func (h ICMPv6) Seq() uint16 { return binary.BigEndian.Uint16(h[icmpSeq:]) }

// MTU returns the MTU field of a Packet Too Big message (RFC 4443 3.2).
func (h ICMPv6) MTU() uint32 { return binary.BigEndian.Uint32(h[icmpID:]) }

// Pointer returns the Pointer field of a Parameter Problem message: the
// offset in the invoking packet of the octet in error (RFC 4443 3.4).
func (h ICMPv6) Pointer() uint32 { return binary.BigEndian.Uint32(h[icmpID:]) }

// Payload returns the bytes after the first 8: echo data, or as much of the
// invoking packet as an error message carries.
func (h ICMPv6) Payload() []byte { return h[ICMPv6MinLen:] }

// SetType sets the Type field.
func (h ICMPv6) SetType(t uint8) { h[icmpType] = t }

// SetCode sets the Code field.
func (h ICMPv6) SetCode(c uint8) { h[icmpCode] = c }

// SetChecksum sets the Checksum field.
func (h ICMPv6) SetChecksum(c uint16) { binary.BigEndian.PutUint16(h[icmpChecksum:], c) }

// SetID sets the Identifier field.
func (h ICMPv6) SetID(id uint16) { binary.BigEndian.PutUint16(h[icmpID:], id) }

// SetSeq sets the Sequence Number field.
func (h ICMPv6) SetSeq(seq uint16) { binary.BigEndian.PutUint16(h[icmpSeq:], seq) }

// SetMTU sets the MTU field of a Packet Too Big message.
func (h ICMPv6) SetMTU(mtu uint32) { binary.BigEndian.PutUint32(h[icmpID:], mtu) }

// SetPointer sets the Pointer field of a Parameter Problem message.
func (h ICMPv6) SetPointer(p uint32) { binary.BigEndian.PutUint32(h[icmpID:], p) }

// ComputeChecksum computes the Checksum over the IPv6 pseudo header (with
// len(h) as the Upper-Layer Packet Length) and all of h, and stores it
// (RFC 4443 2.3).
func (h ICMPv6) ComputeChecksum(src, dst netip.Addr) {
	h.SetChecksum(0)
	h.SetChecksum(^Checksum(h, PseudoHeaderChecksum(ProtoICMPv6, src, dst, uint16(len(h)))))
}

// ChecksumValid reports whether the Checksum over the pseudo header and all
// of h is correct.
func (h ICMPv6) ChecksumValid(src, dst netip.Addr) bool {
	return Checksum(h, PseudoHeaderChecksum(ProtoICMPv6, src, dst, uint16(len(h)))) == 0xffff
}

// String describes the message like tcpdump: "ICMP6, echo request, id 1,
// seq 1, length 16" or "ICMP6, neighbor solicitation, who has fe80::2,
// length 32".
func (h ICMPv6) String() string {
	if len(h) < 4 {
		return h.Check().Error()
	}
	n := len(h)
	short := len(h) < ICMPv6MinLen
	switch t := h.Type(); {
	case short:
	case t == ICMPv6EchoRequest:
		return fmt.Sprintf("ICMP6, echo request, id %d, seq %d, length %d", h.ID(), h.Seq(), n)
	case t == ICMPv6EchoReply:
		return fmt.Sprintf("ICMP6, echo reply, id %d, seq %d, length %d", h.ID(), h.Seq(), n)
	case t == ICMPv6DestUnreachable:
		return fmt.Sprintf("ICMP6, destination unreachable, %s, length %d", icmp6UnreachName(h.Code()), n)
	case t == ICMPv6PacketTooBig:
		return fmt.Sprintf("ICMP6, packet too big, mtu %d, length %d", h.MTU(), n)
	case t == ICMPv6TimeExceeded:
		if h.Code() == ICMPv6ReassemblyTimeExceeded {
			return fmt.Sprintf("ICMP6, time exceeded in-transit, reassembly, length %d", n)
		}
		return fmt.Sprintf("ICMP6, time exceeded in-transit, length %d", n)
	case t == ICMPv6ParamProblem:
		return fmt.Sprintf("ICMP6, parameter problem, code %d, pointer %d, length %d", h.Code(), h.Pointer(), n)
	case t == ICMPv6NeighborSolicit:
		return NDPNeighborSolicit(h).String()
	case t == ICMPv6NeighborAdvert:
		return NDPNeighborAdvert(h).String()
	}
	return fmt.Sprintf("ICMP6, %s, length %d", icmp6TypeName(h.Type()), n)
}

// icmp6UnreachName names a Destination Unreachable code as tcpdump does.
func icmp6UnreachName(c uint8) string {
	switch c {
	case ICMPv6NoRoute:
		return "no route"
	case ICMPv6AdminProhibited:
		return "administratively prohibited"
	case ICMPv6AddrUnreachable:
		return "unreachable address"
	case ICMPv6PortUnreachable:
		return "unreachable port"
	}
	return "code " + itoa(int(c))
}

// icmp6TypeName names an ICMPv6 type, or gives its number.
func icmp6TypeName(t uint8) string {
	switch t {
	case ICMPv6MLDQuery:
		return "multicast listener query"
	case ICMPv6MLDReport:
		return "multicast listener report"
	case ICMPv6MLDDone:
		return "multicast listener done"
	case ICMPv6MLDv2Report:
		return "multicast listener report v2"
	case ICMPv6RouterSolicit:
		return "router solicitation"
	case ICMPv6RouterAdvert:
		return "router advertisement"
	case ICMPv6Redirect:
		return "redirect"
	case ICMPv6NeighborSolicit:
		return "neighbor solicitation"
	case ICMPv6NeighborAdvert:
		return "neighbor advertisement"
	}
	return "type " + itoa(int(t))
}
