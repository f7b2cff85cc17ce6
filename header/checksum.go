package header

import (
	"encoding/binary"
	"math/bits"
	"net/netip"

	"github.com/bsdnet/bsdnet/mbuf"
)

// Checksum returns the 16-bit ones'-complement sum of b, taken as big-endian
// 16-bit words (an odd last byte is padded with a zero byte), added to
// initial (RFC 1071). The result is folded to 16 bits but not complemented:
// a header's checksum field holds ^Checksum(...). Sums of parts combine with
// ChecksumCombine as long as every part but the last has even length.
func Checksum(b []byte, initial uint16) uint16 {
	var sum, carry uint64
	sum = uint64(initial)
	for len(b) >= 32 {
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[0:8]), 0)
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[8:16]), carry)
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[16:24]), carry)
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[24:32]), carry)
		// Put the carry back in; a second carry out leaves sum at 0,
		// so the final increment cannot overflow.
		sum, carry = bits.Add64(sum, carry, 0)
		sum += carry
		b = b[32:]
	}
	for len(b) >= 8 {
		sum, carry = bits.Add64(sum, binary.BigEndian.Uint64(b[0:8]), 0)
		sum += carry
		b = b[8:]
	}
	if len(b) >= 4 {
		sum, carry = bits.Add64(sum, uint64(binary.BigEndian.Uint32(b[0:4])), 0)
		sum += carry
		b = b[4:]
	}
	if len(b) >= 2 {
		sum, carry = bits.Add64(sum, uint64(binary.BigEndian.Uint16(b[0:2])), 0)
		sum += carry
		b = b[2:]
	}
	if len(b) == 1 {
		sum, carry = bits.Add64(sum, uint64(b[0])<<8, 0)
		sum += carry
	}
	return fold64(sum)
}

// fold64 folds a 64-bit ones'-complement accumulator to 16 bits.
func fold64(s uint64) uint16 {
	s = (s >> 32) + (s & 0xffffffff) // ≤ 2^33-2
	s = (s >> 16) + (s & 0xffff)     // ≤ 2^17+2^16
	s = (s >> 16) + (s & 0xffff)     // ≤ 2^16+1
	s = (s >> 16) + (s & 0xffff)     // ≤ 0xffff
	return uint16(s)
}

// ChecksumCombine returns the ones'-complement sum of two 16-bit partial
// sums (RFC 1071 section 2(B)).
func ChecksumCombine(a, b uint16) uint16 {
	s := uint32(a) + uint32(b)
	return uint16(s + s>>16)
}

// PseudoHeaderChecksum returns the sum, not complemented, of the pseudo
// header that TCP, UDP and ICMPv6 checksums cover: for IPv4 addresses the
// source and destination addresses, a zero byte, the protocol and the
// upper-layer length (RFC 768, RFC 9293 3.1); otherwise the IPv6 form with a
// 32-bit Upper-Layer Packet Length and the Next Header value (RFC 8200 8.1).
// Zones are ignored.
func PseudoHeaderChecksum(proto uint8, src, dst netip.Addr, length uint16) uint16 {
	var sum uint32
	if src.Is4() && dst.Is4() {
		s, d := src.As4(), dst.As4()
		sum = uint32(binary.BigEndian.Uint16(s[0:2])) + uint32(binary.BigEndian.Uint16(s[2:4])) +
			uint32(binary.BigEndian.Uint16(d[0:2])) + uint32(binary.BigEndian.Uint16(d[2:4]))
	} else {
		s, d := src.As16(), dst.As16()
		for i := 0; i < 16; i += 2 {
			sum += uint32(binary.BigEndian.Uint16(s[i:i+2])) + uint32(binary.BigEndian.Uint16(d[i:i+2]))
		}
	}
	sum += uint32(proto) + uint32(length)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return uint16(sum)
}

// ChecksumMbuf returns Checksum over n bytes of the chain m starting off
// bytes in, added to initial. Mbufs may hold odd numbers of bytes: a byte
// that starts at an odd offset of the range counts as the low half of its
// word, as if the range were contiguous. A negative n means to the end of
// the chain; the sum stops at the end of the chain in any case.
func ChecksumMbuf(m *mbuf.Mbuf, off, n int, initial uint16) uint16 {
	sum := initial
	odd := false
	off = max(off, 0)
	for ; m != nil && n != 0; m = m.Next {
		d := m.Data()
		if off >= len(d) {
			off -= len(d)
			continue
		}
		d = d[off:]
		off = 0
		if n >= 0 && len(d) > n {
			d = d[:n]
		}
		if n > 0 {
			n -= len(d)
		}
		s := Checksum(d, 0)
		if odd {
			// This part starts in the low byte of a word: its sum,
			// taken as if it started on a word boundary, is byte-swapped
			// (RFC 1071 section 2(B), byte order independence).
			s = bits.ReverseBytes16(s)
		}
		sum = ChecksumCombine(sum, s)
		if len(d)%2 == 1 {
			odd = !odd
		}
	}
	return sum
}
