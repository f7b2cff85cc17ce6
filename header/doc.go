// Package header holds bsdnet's wire formats: stateless, typed views of
// packet headers over byte slices, in the manner of gVisor's pkg/tcpip/header
// and smoltcp's wire module.
//
// Each header is a named byte slice (IPv4, UDP, ...) with one getter and one
// setter per field, reading and writing in network byte order through
// encoding/binary. Getters and setters never allocate.
//
// # The panic contract
//
// A view of untrusted bytes must be validated before its fields are read:
// each view has a Check method (Check(pktLen) where the header carries a
// length field). Once Check returns nil, no getter of that view panics and
// every slice a getter returns lies within the view. The contract holds until
// a setter rewrites a field Check relied on; the setters that void it say so
// in their doc comments (SetTotalLen, SetPayloadLen, SetLength,
// SetDataOffset...). Setters themselves need only the fixed part of the
// header to be present, which is always the case when the caller built the
// header into a buffer of the documented length.
//
// Getters that return a payload bound it by the header's own length field
// and by the end of the view, so a view over only the first mbuf of a chain
// returns the part of the payload that mbuf holds, never more.
//
// Getters returning net.HardwareAddr or []byte return subslices of the view:
// they alias the packet and are valid only as long as it is.
//
// Builders (the Encode methods of the *Fields structs, and the Build*
// functions) write a complete header into a caller's buffer, which must be
// long enough; they panic otherwise, as copy into a short slice would be a
// programming error, not bad input.
//
// Every view has a String method giving a one-line, tcpdump-like summary for
// logs, traces and test failures; String never panics, whatever the bytes.
//
// # References
//
//   - RFC 791 (IPv4), RFC 792 (ICMP), RFC 826 (ARP), RFC 768 (UDP)
//   - RFC 1071, RFC 1624 (the Internet checksum)
//   - RFC 1191 (path MTU discovery), RFC 1112 and RFC 2464 (multicast MACs)
//   - RFC 8200 (IPv6), RFC 4443 (ICMPv6), RFC 4861 (neighbor discovery),
//     RFC 2710 and RFC 3810 (MLD), RFC 4291 (solicited-node multicast)
//   - RFC 9293 (TCP), RFC 7323 (window scale, timestamps), RFC 2018 (SACK)
package header

import "errors"

// Errors returned by the Check methods and the option walkers. They are
// wrapped with context; test them with errors.Is.
var (
	// ErrTruncated means the bytes end before the header or option does.
	ErrTruncated = errors.New("header: truncated")
	// ErrBadVersion means an IP header's Version field is wrong.
	ErrBadVersion = errors.New("header: bad IP version")
	// ErrBadLength means a length field is inconsistent with the header
	// or the packet.
	ErrBadLength = errors.New("header: bad length field")
	// ErrBadOption means an option or extension header is malformed or
	// out of place.
	ErrBadOption = errors.New("header: malformed option")
	// ErrUnsupported means a well-formed header of a kind this package
	// does not handle (an ARP packet for other than Ethernet and IPv4).
	ErrUnsupported = errors.New("header: unsupported format")
)

// IP protocol numbers (IPv4 Protocol, IPv6 Next Header), from the IANA
// registry, with FreeBSD's IPPROTO_* values.
const (
	ProtoIPv6Hop    = 0   // IPv6 Hop-by-Hop Options (IPPROTO_HOPOPTS), RFC 8200 4.3
	ProtoICMP       = 1   // ICMP (IPPROTO_ICMP), RFC 792
	ProtoTCP        = 6   // TCP (IPPROTO_TCP), RFC 9293
	ProtoUDP        = 17  // UDP (IPPROTO_UDP), RFC 768
	ProtoIPv6Route  = 43  // IPv6 Routing header (IPPROTO_ROUTING), RFC 8200 4.4
	ProtoIPv6Frag   = 44  // IPv6 Fragment header (IPPROTO_FRAGMENT), RFC 8200 4.5
	ProtoICMPv6     = 58  // ICMPv6 (IPPROTO_ICMPV6), RFC 4443
	ProtoIPv6NoNext = 59  // IPv6 No Next Header (IPPROTO_NONE), RFC 8200 4.7
	ProtoIPv6Dst    = 60  // IPv6 Destination Options (IPPROTO_DSTOPTS), RFC 8200 4.6
	ProtoRaw        = 255 // raw IP (IPPROTO_RAW)
)

// protoName returns a short name for an IP protocol number, or its decimal
// value when it has none.
func protoName(p uint8) string {
	switch p {
	case ProtoIPv6Hop:
		return "hopopts"
	case ProtoICMP:
		return "icmp"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoIPv6Route:
		return "routing"
	case ProtoIPv6Frag:
		return "frag"
	case ProtoICMPv6:
		return "icmp6"
	case ProtoIPv6NoNext:
		return "nonext"
	case ProtoIPv6Dst:
		return "dstopts"
	case ProtoRaw:
		return "raw"
	}
	return "proto-" + itoa(int(p))
}

// itoa formats a small integer without fmt.
func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
