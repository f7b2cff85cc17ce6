package header

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// IPv4MinLen is the length of an IPv4 header without options (IHL 5).
const IPv4MinLen = 20

// IPv4MaxHeaderLen is the longest IPv4 header, options included (IHL 15).
const IPv4MaxHeaderLen = 60

// Offsets of the IPv4 header fields (RFC 791 3.1).
const (
	ipv4VersIHL   = 0  // Version, IHL
	ipv4TOS       = 1  // Type of Service
	ipv4TotalLen  = 2  // Total Length
	ipv4ID        = 4  // Identification
	ipv4FlagsFrag = 6  // Flags, Fragment Offset
	ipv4TTL       = 8  // Time to Live
	ipv4Protocol  = 9  // Protocol
	ipv4Checksum  = 10 // Header Checksum
	ipv4Src       = 12 // Source Address
	ipv4Dst       = 16 // Destination Address
)

// IPv4 flag bits as Flags returns them (RFC 791 3.1, "Flags").
const (
	IPv4FlagMF = 1 << 0 // More Fragments
	IPv4FlagDF = 1 << 1 // Don't Fragment
	// IPv4FlagEvil is bit 0 of the Flags field, reserved, must be zero
	// (the "evil bit" of RFC 3514).
	IPv4FlagEvil = 1 << 2
)

// IPv4 option types (RFC 791 3.1, "Options"), the whole option-type octet.
const (
	IPv4OptEOL      = 0   // End of Option List
	IPv4OptNOP      = 1   // No Operation
	IPv4OptRR       = 7   // Record Route
	IPv4OptTS       = 68  // Internet Timestamp
	IPv4OptSecurity = 130 // Security
	IPv4OptLSRR     = 131 // Loose Source and Record Route
	IPv4OptSSRR     = 137 // Strict Source and Record Route
	IPv4OptRA       = 148 // Router Alert, RFC 2113
)

// IPv4 is a view of an IPv4 packet, header first (RFC 791).
type IPv4 []byte

// Check reports whether h starts a well-formed IPv4 packet of pktLen bytes:
// Version 4, IHL at least 5, the whole header (options included) within h,
// and Total Length at least the header length and at most pktLen. The
// Header Checksum is not verified (see ChecksumValid). Once Check returns
// nil no method of h panics, until SetTotalLen or a write to the
// Version/IHL byte changes what it relied on.
//
// pktLen may exceed len(h) when h views only the first mbuf of a chain;
// Payload is then cut at the end of h.
func (h IPv4) Check(pktLen int) error {
	if len(h) < IPv4MinLen {
		return fmt.Errorf("ipv4: %d bytes, need %d: %w", len(h), IPv4MinLen, ErrTruncated)
	}
	if v := h.Version(); v != 4 {
		return fmt.Errorf("ipv4: version %d: %w", v, ErrBadVersion)
	}
	hl := h.HeaderLen()
	if hl < IPv4MinLen {
		return fmt.Errorf("ipv4: header length %d: %w", hl, ErrBadLength)
	}
	if hl > len(h) {
		return fmt.Errorf("ipv4: header length %d, have %d bytes: %w", hl, len(h), ErrTruncated)
	}
	tl := h.TotalLen()
	if tl < hl {
		return fmt.Errorf("ipv4: total length %d below header length %d: %w", tl, hl, ErrBadLength)
	}
	if tl > pktLen {
		return fmt.Errorf("ipv4: total length %d, packet %d bytes: %w", tl, pktLen, ErrBadLength)
	}
	return nil
}

// Version returns the Version field (4 for IPv4).
func (h IPv4) Version() uint8 { return h[ipv4VersIHL] >> 4 }

// HeaderLen returns the header length in bytes: the IHL field times four.
func (h IPv4) HeaderLen() int { return int(h[ipv4VersIHL]&0x0f) * 4 }

// TOS returns the Type of Service octet (the DS field and ECN bits of
// RFC 2474 and RFC 3168).
func (h IPv4) TOS() uint8 { return h[ipv4TOS] }

// TotalLen returns the Total Length field: header and data, in bytes.
func (h IPv4) TotalLen() int { return int(binary.BigEndian.Uint16(h[ipv4TotalLen:])) }

// ID returns the Identification field.
func (h IPv4) ID() uint16 { return binary.BigEndian.Uint16(h[ipv4ID:]) }

// Flags returns the three bits of the Flags field: IPv4FlagEvil (the
// reserved bit), IPv4FlagDF and IPv4FlagMF.
func (h IPv4) Flags() uint8 { return h[ipv4FlagsFrag] >> 5 }

// DF reports the Don't Fragment flag.
func (h IPv4) DF() bool { return h.Flags()&IPv4FlagDF != 0 }

// MF reports the More Fragments flag.
func (h IPv4) MF() bool { return h.Flags()&IPv4FlagMF != 0 }

// FragOffset returns the Fragment Offset field converted to bytes (the field
// counts units of 8 octets).
func (h IPv4) FragOffset() int {
	return int(binary.BigEndian.Uint16(h[ipv4FlagsFrag:])&0x1fff) * 8
}

// TTL returns the Time to Live field.
func (h IPv4) TTL() uint8 { return h[ipv4TTL] }

// Protocol returns the Protocol field (ProtoTCP, ProtoUDP...).
func (h IPv4) Protocol() uint8 { return h[ipv4Protocol] }

// HeaderChecksum returns the Header Checksum field.
func (h IPv4) HeaderChecksum() uint16 { return binary.BigEndian.Uint16(h[ipv4Checksum:]) }

// Src returns the Source Address.
func (h IPv4) Src() netip.Addr { return netip.AddrFrom4([4]byte(h[ipv4Src : ipv4Src+4])) }

// Dst returns the Destination Address.
func (h IPv4) Dst() netip.Addr { return netip.AddrFrom4([4]byte(h[ipv4Dst : ipv4Dst+4])) }

// Options returns the Options field with its padding: the bytes from 20 to
// the header length. It aliases h.
func (h IPv4) Options() []byte { return h[IPv4MinLen:h.HeaderLen()] }

// Payload returns the data after the header, up to Total Length or the end
// of h, whichever comes first. It aliases h.
func (h IPv4) Payload() []byte {
	hl := h.HeaderLen()
	end := min(h.TotalLen(), len(h))
	if end < hl {
		return h[hl:hl]
	}
	return h[hl:end]
}

// SetVersionIHL sets Version to 4 and IHL to hl/4, hl being the header
// length in bytes. It voids Check.
func (h IPv4) SetVersionIHL(hl int) { h[ipv4VersIHL] = 4<<4 | byte(hl/4)&0x0f }

// SetTOS sets the Type of Service octet.
func (h IPv4) SetTOS(v uint8) { h[ipv4TOS] = v }

// SetTotalLen sets the Total Length field. It voids Check.
func (h IPv4) SetTotalLen(n int) { binary.BigEndian.PutUint16(h[ipv4TotalLen:], uint16(n)) }

// SetID sets the Identification field.
func (h IPv4) SetID(id uint16) { binary.BigEndian.PutUint16(h[ipv4ID:], id) }

// SetFlagsFragOffset sets the Flags field (the reserved bit cleared) and the
// Fragment Offset, off being in bytes (a multiple of 8; the rest is dropped).
func (h IPv4) SetFlagsFragOffset(df, mf bool, off int) {
	v := uint16(off/8) & 0x1fff
	if df {
		v |= IPv4FlagDF << 13
	}
	if mf {
		v |= IPv4FlagMF << 13
	}
	binary.BigEndian.PutUint16(h[ipv4FlagsFrag:], v)
}

// SetTTL sets the Time to Live field.
func (h IPv4) SetTTL(v uint8) { h[ipv4TTL] = v }

// SetProtocol sets the Protocol field.
func (h IPv4) SetProtocol(p uint8) { h[ipv4Protocol] = p }

// SetSrc sets the Source Address; an address that is not IPv4 writes zeros.
func (h IPv4) SetSrc(a netip.Addr) { setIPv4(h[ipv4Src:ipv4Src+4], a) }

// SetDst sets the Destination Address; an address that is not IPv4 writes
// zeros.
func (h IPv4) SetDst(a netip.Addr) { setIPv4(h[ipv4Dst:ipv4Dst+4], a) }

// SetHeaderChecksum sets the Header Checksum field.
func (h IPv4) SetHeaderChecksum(c uint16) { binary.BigEndian.PutUint16(h[ipv4Checksum:], c) }

// ComputeChecksum computes the Header Checksum over the header (options
// included) and stores it. The IHL field must be in range, as after Check
// or Encode.
func (h IPv4) ComputeChecksum() {
	h.SetHeaderChecksum(0)
	h.SetHeaderChecksum(^Checksum(h[:h.HeaderLen()], 0))
}

// ChecksumValid reports whether the Header Checksum is correct: the sum of
// the header, the checksum included, is all ones (RFC 1071). Use it after
// Check.
func (h IPv4) ChecksumValid() bool {
	return Checksum(h[:h.HeaderLen()], 0) == 0xffff
}

// String describes the header like tcpdump -v: "IP 10.0.0.1 > 10.0.0.2: udp,
// tos 0x0, ttl 64, id 1, offset 0, flags [DF], length 33".
func (h IPv4) String() string {
	// Print what can be read safely; a bad version or total length is
	// worth seeing in a trace, so only a header that does not fit stops it.
	if len(h) < IPv4MinLen || h.HeaderLen() < IPv4MinLen || h.HeaderLen() > len(h) {
		return h.Check(len(h)).Error()
	}
	var flags strings.Builder
	if h.Flags()&IPv4FlagEvil != 0 {
		flags.WriteString("+")
	}
	if h.DF() {
		flags.WriteString("DF")
	}
	if h.MF() {
		flags.WriteString("+")
	}
	if flags.Len() == 0 {
		flags.WriteString("none")
	}
	s := fmt.Sprintf("IP %s > %s: %s, tos 0x%x, ttl %d, id %d, offset %d, flags [%s], length %d",
		h.Src(), h.Dst(), protoName(h.Protocol()), h.TOS(), h.TTL(), h.ID(), h.FragOffset(), flags.String(), h.TotalLen())
	if h.Version() != 4 {
		s += fmt.Sprintf(", bad version %d", h.Version())
	}
	if hl := h.HeaderLen(); hl > IPv4MinLen {
		s += fmt.Sprintf(", options %d bytes", hl-IPv4MinLen)
	}
	return s
}

// IPv4Fields is the value form of an IPv4 header, for building one with
// Encode.
type IPv4Fields struct {
	TOS        uint8      // Type of Service
	TotalLen   int        // Total Length: header (options included) and data
	ID         uint16     // Identification
	DF, MF     bool       // Don't Fragment, More Fragments
	FragOffset int        // Fragment Offset, in bytes (a multiple of 8)
	TTL        uint8      // Time to Live
	Protocol   uint8      // Protocol
	Src, Dst   netip.Addr // Source Address, Destination Address
	Options    []byte     // Options, padded with zeros (EOL) to 4 bytes by Encode
}

// HeaderLen returns the length of the header Encode writes: 20 bytes and the
// options padded to a multiple of 4.
func (f IPv4Fields) HeaderLen() int { return IPv4MinLen + (len(f.Options)+3)&^3 }

// Encode writes the header into b, options included and padded to a
// multiple of 4 bytes, computes the Header Checksum, and returns the header
// length. b must hold HeaderLen bytes, and the options at most 40.
func (f IPv4Fields) Encode(b []byte) int {
	hl := f.HeaderLen()
	h := IPv4(b[:hl])
	h.SetVersionIHL(hl)
	h.SetTOS(f.TOS)
	h.SetTotalLen(f.TotalLen)
	h.SetID(f.ID)
	h.SetFlagsFragOffset(f.DF, f.MF, f.FragOffset)
	h.SetTTL(f.TTL)
	h.SetProtocol(f.Protocol)
	h.SetSrc(f.Src)
	h.SetDst(f.Dst)
	n := copy(h[IPv4MinLen:], f.Options)
	clear(h[IPv4MinLen+n:])
	h.ComputeChecksum()
	return hl
}

// ParseIPv4Fields returns the fields of a header that has passed Check. The
// Options slice aliases h.
func ParseIPv4Fields(h IPv4) IPv4Fields {
	return IPv4Fields{
		TOS: h.TOS(), TotalLen: h.TotalLen(), ID: h.ID(), DF: h.DF(), MF: h.MF(),
		FragOffset: h.FragOffset(), TTL: h.TTL(), Protocol: h.Protocol(),
		Src: h.Src(), Dst: h.Dst(), Options: h.Options(),
	}
}

// String describes the fields in the form of IPv4.String.
func (f IPv4Fields) String() string {
	return fmt.Sprintf("IP %s > %s: %s, tos 0x%x, ttl %d, id %d, offset %d, df %t, mf %t, length %d, options %d bytes",
		f.Src, f.Dst, protoName(f.Protocol), f.TOS, f.TTL, f.ID, f.FragOffset, f.DF, f.MF, f.TotalLen, len(f.Options))
}

// IPv4Options walks the options of an IPv4 header (RFC 791 3.1, "Options"),
// calling f with the option-type octet and the option's data (the bytes
// after its type and length octets) for each option other than No Operation
// and End of Option List. The walk stops at End of Option List. It returns
// an error wrapping ErrBadOption if an option lacks its length octet, has a
// length below 2, or runs past the end of opts; options before the bad one
// have been passed to f. The data slices alias opts.
func IPv4Options(opts []byte, f func(typ uint8, data []byte)) error {
	for i := 0; i < len(opts); {
		typ := opts[i]
		switch typ {
		case IPv4OptEOL:
			return nil
		case IPv4OptNOP:
			i++
			continue
		}
		if i+1 >= len(opts) {
			return fmt.Errorf("ipv4 option %d at %d: no length: %w", typ, i, ErrBadOption)
		}
		n := int(opts[i+1])
		if n < 2 {
			return fmt.Errorf("ipv4 option %d at %d: length %d: %w", typ, i, n, ErrBadOption)
		}
		if i+n > len(opts) {
			return fmt.Errorf("ipv4 option %d at %d: length %d overruns %d bytes: %w", typ, i, n, len(opts), ErrBadOption)
		}
		f(typ, opts[i+2:i+n:i+n])
		i += n
	}
	return nil
}
