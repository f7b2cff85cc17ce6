package header

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// ICMPv4MinLen is the length of the ICMP header: type, code, checksum and
// the 4-byte rest of header (RFC 792).
const ICMPv4MinLen = 8

// ICMPv4 message types (RFC 792).
const (
	ICMPv4EchoReply       = 0  // Echo Reply
	ICMPv4DestUnreachable = 3  // Destination Unreachable
	ICMPv4SourceQuench    = 4  // Source Quench (deprecated, RFC 6633)
	ICMPv4Redirect        = 5  // Redirect
	ICMPv4Echo            = 8  // Echo
	ICMPv4TimeExceeded    = 11 // Time Exceeded
	ICMPv4ParamProblem    = 12 // Parameter Problem
)

// ICMPv4 Destination Unreachable codes (RFC 792, RFC 1122 3.2.2.1, RFC 1812
// 5.2.7.1).
const (
	ICMPv4NetUnreachable   = 0  // net unreachable
	ICMPv4HostUnreachable  = 1  // host unreachable
	ICMPv4ProtoUnreachable = 2  // protocol unreachable
	ICMPv4PortUnreachable  = 3  // port unreachable
	ICMPv4FragNeeded       = 4  // fragmentation needed and DF set (RFC 1191)
	ICMPv4AdminProhibited  = 13 // communication administratively prohibited
)

// ICMPv4 Time Exceeded codes (RFC 792).
const (
	ICMPv4TTLExceeded            = 0 // time to live exceeded in transit
	ICMPv4ReassemblyTimeExceeded = 1 // fragment reassembly time exceeded
)

// Offsets of the ICMP header fields.
const (
	icmpType     = 0
	icmpCode     = 1
	icmpChecksum = 2
	icmpID       = 4 // Identifier (echo), Pointer (parameter problem), Gateway (redirect)
	icmpSeq      = 6 // Sequence Number (echo), Next-Hop MTU (RFC 1191)
)

// ICMPv4 is a view of an ICMP message, header first (RFC 792).
type ICMPv4 []byte

// Check reports whether h holds the 8-byte ICMP header; once it returns nil
// no method of h panics.
func (h ICMPv4) Check() error {
	if len(h) < ICMPv4MinLen {
		return fmt.Errorf("icmp: %d bytes, need %d: %w", len(h), ICMPv4MinLen, ErrTruncated)
	}
	return nil
}

// Type returns the Type field.
func (h ICMPv4) Type() uint8 { return h[icmpType] }

// Code returns the Code field.
func (h ICMPv4) Code() uint8 { return h[icmpCode] }

// Checksum returns the Checksum field.
func (h ICMPv4) Checksum() uint16 { return binary.BigEndian.Uint16(h[icmpChecksum:]) }

// ID returns the Identifier field of an Echo or Echo Reply.
func (h ICMPv4) ID() uint16 { return binary.BigEndian.Uint16(h[icmpID:]) }

// Seq returns the Sequence Number field of an Echo or Echo Reply.
func (h ICMPv4) Seq() uint16 { return binary.BigEndian.Uint16(h[icmpSeq:]) }

// MTU returns the Next-Hop MTU of a Destination Unreachable, fragmentation
// needed message (RFC 1191 4); 0 from routers that predate it.
func (h ICMPv4) MTU() uint16 { return binary.BigEndian.Uint16(h[icmpSeq:]) }

// Pointer returns the Pointer field of a Parameter Problem: the offset of
// the octet in error.
func (h ICMPv4) Pointer() uint8 { return h[icmpID] }

// Gateway returns the Gateway Internet Address of a Redirect.
func (h ICMPv4) Gateway() netip.Addr { return netip.AddrFrom4([4]byte(h[icmpID : icmpID+4])) }

// Payload returns the bytes after the 8-byte header: echo data, or the
// internet header and leading data of the datagram an error refers to.
func (h ICMPv4) Payload() []byte { return h[ICMPv4MinLen:] }

// SetType sets the Type field.
func (h ICMPv4) SetType(t uint8) { h[icmpType] = t }

// SetCode sets the Code field.
func (h ICMPv4) SetCode(c uint8) { h[icmpCode] = c }

// SetChecksum sets the Checksum field.
func (h ICMPv4) SetChecksum(c uint16) { binary.BigEndian.PutUint16(h[icmpChecksum:], c) }

// SetID sets the Identifier field.
func (h ICMPv4) SetID(id uint16) { binary.BigEndian.PutUint16(h[icmpID:], id) }

// SetSeq sets the Sequence Number field.
func (h ICMPv4) SetSeq(seq uint16) { binary.BigEndian.PutUint16(h[icmpSeq:], seq) }

// SetMTU sets the Next-Hop MTU field, clearing the unused half-word before
// it (RFC 1191 4).
func (h ICMPv4) SetMTU(mtu uint16) {
	binary.BigEndian.PutUint16(h[icmpID:], 0)
	binary.BigEndian.PutUint16(h[icmpSeq:], mtu)
}

// SetPointer sets the Pointer field of a Parameter Problem, clearing the
// unused bytes after it.
func (h ICMPv4) SetPointer(p uint8) {
	binary.BigEndian.PutUint32(h[icmpID:], uint32(p)<<24)
}

// SetGateway sets the Gateway Internet Address of a Redirect.
func (h ICMPv4) SetGateway(a netip.Addr) { setIPv4(h[icmpID:icmpID+4], a) }

// ComputeChecksum computes the Checksum over all of h (the ICMP message,
// header and data) and stores it.
func (h ICMPv4) ComputeChecksum() {
	h.SetChecksum(0)
	h.SetChecksum(^Checksum(h, 0))
}

// ChecksumValid reports whether the Checksum over all of h is correct.
func (h ICMPv4) ChecksumValid() bool { return Checksum(h, 0) == 0xffff }

// String describes the message like tcpdump: "ICMP echo request, id 1, seq
// 1, length 12".
func (h ICMPv4) String() string {
	if err := h.Check(); err != nil {
		return err.Error()
	}
	switch h.Type() {
	case ICMPv4Echo:
		return fmt.Sprintf("ICMP echo request, id %d, seq %d, length %d", h.ID(), h.Seq(), len(h))
	case ICMPv4EchoReply:
		return fmt.Sprintf("ICMP echo reply, id %d, seq %d, length %d", h.ID(), h.Seq(), len(h))
	case ICMPv4DestUnreachable:
		s := "ICMP unreachable"
		switch h.Code() {
		case ICMPv4NetUnreachable:
			s = "ICMP net unreachable"
		case ICMPv4HostUnreachable:
			s = "ICMP host unreachable"
		case ICMPv4ProtoUnreachable:
			s = "ICMP protocol unreachable"
		case ICMPv4PortUnreachable:
			s = "ICMP port unreachable"
		case ICMPv4FragNeeded:
			return fmt.Sprintf("ICMP unreachable - need to frag (mtu %d), length %d", h.MTU(), len(h))
		case ICMPv4AdminProhibited:
			s = "ICMP unreachable - admin prohibited filter"
		default:
			s = fmt.Sprintf("ICMP unreachable code %d", h.Code())
		}
		return fmt.Sprintf("%s, length %d", s, len(h))
	case ICMPv4SourceQuench:
		return fmt.Sprintf("ICMP source quench, length %d", len(h))
	case ICMPv4Redirect:
		return fmt.Sprintf("ICMP redirect code %d to %s, length %d", h.Code(), h.Gateway(), len(h))
	case ICMPv4TimeExceeded:
		if h.Code() == ICMPv4ReassemblyTimeExceeded {
			return fmt.Sprintf("ICMP ip reassembly time exceeded, length %d", len(h))
		}
		return fmt.Sprintf("ICMP time exceeded in-transit, length %d", len(h))
	case ICMPv4ParamProblem:
		return fmt.Sprintf("ICMP parameter problem - octet %d, length %d", h.Pointer(), len(h))
	}
	return fmt.Sprintf("ICMP type %d, code %d, length %d", h.Type(), h.Code(), len(h))
}
