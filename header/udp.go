package header

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// UDPLen is the length of the UDP header (RFC 768).
const UDPLen = 8

// Offsets of the UDP header fields (RFC 768).
const (
	udpSrcPort  = 0 // Source Port
	udpDstPort  = 2 // Destination Port
	udpLength   = 4 // Length
	udpChecksum = 6 // Checksum
)

// UDP is a view of a UDP datagram, header first (RFC 768).
type UDP []byte

// Check reports whether u holds the UDP header and its Length field is at
// least 8 and at most pktLen, the bytes the network layer delivered. Once it
// returns nil no method of u panics (until SetLength changes the length).
// pktLen may exceed len(u) when u views only the first mbuf of a chain;
// Payload is then cut at the end of u.
func (u UDP) Check(pktLen int) error {
	if len(u) < UDPLen {
		return fmt.Errorf("udp: %d bytes, need %d: %w", len(u), UDPLen, ErrTruncated)
	}
	if n := u.Length(); n < UDPLen || n > pktLen {
		return fmt.Errorf("udp: length %d, packet %d bytes: %w", n, pktLen, ErrBadLength)
	}
	return nil
}

// SrcPort returns the Source Port field.
func (u UDP) SrcPort() uint16 { return binary.BigEndian.Uint16(u[udpSrcPort:]) }

// DstPort returns the Destination Port field.
func (u UDP) DstPort() uint16 { return binary.BigEndian.Uint16(u[udpDstPort:]) }

// Length returns the Length field: header and data, in bytes.
func (u UDP) Length() int { return int(binary.BigEndian.Uint16(u[udpLength:])) }

// Checksum returns the Checksum field.
func (u UDP) Checksum() uint16 { return binary.BigEndian.Uint16(u[udpChecksum:]) }

// Payload returns the data after the header, up to Length or the end of u,
// whichever comes first. It aliases u.
func (u UDP) Payload() []byte {
	end := min(u.Length(), len(u))
	if end < UDPLen {
		return u[UDPLen:UDPLen]
	}
	return u[UDPLen:end]
}

// SetSrcPort sets the Source Port field.
func (u UDP) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(u[udpSrcPort:], p) }

// SetDstPort sets the Destination Port field.
func (u UDP) SetDstPort(p uint16) { binary.BigEndian.PutUint16(u[udpDstPort:], p) }

// SetLength sets the Length field. It voids Check.
func (u UDP) SetLength(n int) { binary.BigEndian.PutUint16(u[udpLength:], uint16(n)) }

// SetChecksum sets the Checksum field.
func (u UDP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(u[udpChecksum:], c) }

// ComputeChecksum computes and stores the Checksum: the complement of the
// sum of the pseudo header (with the Length field as the length), the UDP
// header, and payloadSum, the Checksum of the Length-8 data bytes (which may
// lie outside u, in later mbufs). A result of zero is sent as all ones
// (RFC 768), zero meaning "no checksum".
func (u UDP) ComputeChecksum(src, dst netip.Addr, payloadSum uint16) {
	s := PseudoHeaderChecksum(ProtoUDP, src, dst, uint16(u.Length()))
	s = Checksum(u[:udpChecksum], s)
	s = ChecksumCombine(s, payloadSum)
	c := ^s
	if c == 0 {
		c = 0xffff
	}
	u.SetChecksum(c)
}

// ChecksumValid reports whether the Checksum over the pseudo header and the
// first Length bytes of u (all of them in u) is correct. A zero Checksum
// means the sender computed none: valid over IPv4 (RFC 768), invalid over
// IPv6 (RFC 8200 8.1).
func (u UDP) ChecksumValid(src, dst netip.Addr) bool {
	if u.Checksum() == 0 {
		return src.Is4() && dst.Is4()
	}
	n := min(u.Length(), len(u))
	s := PseudoHeaderChecksum(ProtoUDP, src, dst, uint16(u.Length()))
	return Checksum(u[:n], s) == 0xffff
}

// String describes the datagram like tcpdump: "UDP, 5000 > 53, length 12"
// (the length of the data).
func (u UDP) String() string {
	if len(u) < UDPLen {
		return u.Check(len(u)).Error()
	}
	s := fmt.Sprintf("UDP, %d > %d, length %d", u.SrcPort(), u.DstPort(), u.Length()-UDPLen)
	if u.Length() < UDPLen {
		s += " (bad length)"
	}
	return s
}

// UDPFields is the value form of a UDP header, for building one with Encode.
type UDPFields struct {
	SrcPort, DstPort uint16 // Source Port, Destination Port
	Length           int    // Length: header and data
	Checksum         uint16 // Checksum, often 0 to be computed afterwards
}

// Encode writes the header into b, which must hold UDPLen bytes.
func (f UDPFields) Encode(b []byte) {
	u := UDP(b[:UDPLen])
	u.SetSrcPort(f.SrcPort)
	u.SetDstPort(f.DstPort)
	u.SetLength(f.Length)
	u.SetChecksum(f.Checksum)
}

// String describes the fields in the form of UDP.String.
func (f UDPFields) String() string {
	return fmt.Sprintf("UDP, %d > %d, length %d", f.SrcPort, f.DstPort, f.Length-UDPLen)
}
