package header

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// TCPMinLen is the length of a TCP header without options (Data Offset 5).
const TCPMinLen = 20

// TCPMaxHeaderLen is the longest TCP header, options included (Data Offset
// 15).
const TCPMaxHeaderLen = 60

// TCP control bits (RFC 9293 3.1, RFC 3168 6.1 for ECE and CWR), as Flags
// returns them.
const (
	TCPFlagFin = 1 << 0 // FIN: no more data from sender
	TCPFlagSyn = 1 << 1 // SYN: synchronize sequence numbers
	TCPFlagRst = 1 << 2 // RST: reset the connection
	TCPFlagPsh = 1 << 3 // PSH: push function
	TCPFlagAck = 1 << 4 // ACK: acknowledgment field is significant
	TCPFlagUrg = 1 << 5 // URG: urgent pointer field is significant
	TCPFlagEce = 1 << 6 // ECE: ECN-Echo
	TCPFlagCwr = 1 << 7 // CWR: congestion window reduced
)

// TCP option kinds (RFC 9293 3.2, RFC 7323, RFC 2018).
const (
	TCPOptEOL           = 0 // End of Option List
	TCPOptNOP           = 1 // No-Operation
	TCPOptMSS           = 2 // Maximum Segment Size, length 4
	TCPOptWindowScale   = 3 // Window Scale, length 3 (RFC 7323 2)
	TCPOptSACKPermitted = 4 // SACK-Permitted, length 2 (RFC 2018)
	TCPOptSACK          = 5 // SACK blocks (RFC 2018)
	TCPOptTimestamp     = 8 // Timestamps, length 10 (RFC 7323 3)
)

// Offsets of the TCP header fields (RFC 9293 3.1).
const (
	tcpSrcPort  = 0  // Source Port
	tcpDstPort  = 2  // Destination Port
	tcpSeq      = 4  // Sequence Number
	tcpAck      = 8  // Acknowledgment Number
	tcpDataOff  = 12 // Data Offset, Reserved
	tcpFlags    = 13 // control bits
	tcpWindow   = 14 // Window
	tcpChecksum = 16 // Checksum
	tcpUrgent   = 18 // Urgent Pointer
)

// TCP is a view of a TCP segment, header first (RFC 9293 3.1). Its length is
// the segment's: the header and all the data.
type TCP []byte

// Check reports whether t holds a whole TCP header of a segment of pktLen
// bytes: Data Offset at least 5 and the header (options included) within
// both t and pktLen. Once it returns nil no method of t panics, until
// SetDataOffset changes the offset.
func (t TCP) Check(pktLen int) error {
	if len(t) < TCPMinLen {
		return fmt.Errorf("tcp: %d bytes, need %d: %w", len(t), TCPMinLen, ErrTruncated)
	}
	off := t.DataOffset()
	if off < TCPMinLen {
		return fmt.Errorf("tcp: data offset %d: %w", off, ErrBadLength)
	}
	if off > len(t) || off > pktLen {
		return fmt.Errorf("tcp: data offset %d, segment %d bytes: %w", off, min(len(t), pktLen), ErrTruncated)
	}
	return nil
}

// SrcPort returns the Source Port field.
func (t TCP) SrcPort() uint16 { return binary.BigEndian.Uint16(t[tcpSrcPort:]) }

// DstPort returns the Destination Port field.
func (t TCP) DstPort() uint16 { return binary.BigEndian.Uint16(t[tcpDstPort:]) }

// Seq returns the Sequence Number field.
func (t TCP) Seq() uint32 { return binary.BigEndian.Uint32(t[tcpSeq:]) }

// Ack returns the Acknowledgment Number field.
func (t TCP) Ack() uint32 { return binary.BigEndian.Uint32(t[tcpAck:]) }

// DataOffset returns the Data Offset field converted to bytes: the header
// length, options included.
func (t TCP) DataOffset() int { return int(t[tcpDataOff]>>4) * 4 }

// Flags returns the control bits (TCPFlagFin ... TCPFlagCwr).
func (t TCP) Flags() uint8 { return t[tcpFlags] }

// Window returns the Window field (unscaled).
func (t TCP) Window() uint16 { return binary.BigEndian.Uint16(t[tcpWindow:]) }

// Checksum returns the Checksum field.
func (t TCP) Checksum() uint16 { return binary.BigEndian.Uint16(t[tcpChecksum:]) }

// Urgent returns the Urgent Pointer field.
func (t TCP) Urgent() uint16 { return binary.BigEndian.Uint16(t[tcpUrgent:]) }

// Options returns the Options field with its padding: the bytes from 20 to
// the data offset. It aliases t.
func (t TCP) Options() []byte { return t[TCPMinLen:t.DataOffset()] }

// Payload returns the data after the header, to the end of t. It aliases t.
func (t TCP) Payload() []byte { return t[t.DataOffset():] }

// SetSrcPort sets the Source Port field.
func (t TCP) SetSrcPort(p uint16) { binary.BigEndian.PutUint16(t[tcpSrcPort:], p) }

// SetDstPort sets the Destination Port field.
func (t TCP) SetDstPort(p uint16) { binary.BigEndian.PutUint16(t[tcpDstPort:], p) }

// SetSeq sets the Sequence Number field.
func (t TCP) SetSeq(v uint32) { binary.BigEndian.PutUint32(t[tcpSeq:], v) }

// SetAck sets the Acknowledgment Number field.
func (t TCP) SetAck(v uint32) { binary.BigEndian.PutUint32(t[tcpAck:], v) }

// SetDataOffset sets the Data Offset field to n bytes (a multiple of 4
// between 20 and 60), clearing the Reserved bits. It voids Check.
func (t TCP) SetDataOffset(n int) { t[tcpDataOff] = byte(n/4) << 4 }

// SetFlags sets the control bits.
func (t TCP) SetFlags(f uint8) { t[tcpFlags] = f }

// SetWindow sets the Window field.
func (t TCP) SetWindow(w uint16) { binary.BigEndian.PutUint16(t[tcpWindow:], w) }

// SetChecksum sets the Checksum field.
func (t TCP) SetChecksum(c uint16) { binary.BigEndian.PutUint16(t[tcpChecksum:], c) }

// SetUrgent sets the Urgent Pointer field.
func (t TCP) SetUrgent(u uint16) { binary.BigEndian.PutUint16(t[tcpUrgent:], u) }

// ComputeChecksum computes and stores the Checksum of a segment of segLen
// bytes whose header is t[:DataOffset] and whose data, wherever it lies,
// sums to payloadSum (RFC 9293 3.1: the pseudo header, the header and the
// data).
func (t TCP) ComputeChecksum(src, dst netip.Addr, segLen int, payloadSum uint16) {
	t.SetChecksum(0)
	s := PseudoHeaderChecksum(ProtoTCP, src, dst, uint16(segLen))
	s = Checksum(t[:t.DataOffset()], s)
	t.SetChecksum(^ChecksumCombine(s, payloadSum))
}

// ChecksumValid reports whether the Checksum over the pseudo header and all
// of t (the whole segment) is correct.
func (t TCP) ChecksumValid(src, dst netip.Addr) bool {
	return Checksum(t, PseudoHeaderChecksum(ProtoTCP, src, dst, uint16(len(t)))) == 0xffff
}

// String describes the segment like tcpdump: "TCP 1234 > 80: Flags [S.],
// seq 1, ack 2, win 65535, options 4 bytes, length 0".
func (t TCP) String() string {
	if err := t.Check(len(t)); err != nil {
		return err.Error()
	}
	s := fmt.Sprintf("TCP %d > %d: Flags [%s], seq %d", t.SrcPort(), t.DstPort(), TCPFlagString(t.Flags()), t.Seq())
	if t.Flags()&TCPFlagAck != 0 {
		s += fmt.Sprintf(", ack %d", t.Ack())
	}
	s += fmt.Sprintf(", win %d", t.Window())
	if t.Flags()&TCPFlagUrg != 0 {
		s += fmt.Sprintf(", urg %d", t.Urgent())
	}
	if n := len(t.Options()); n > 0 {
		s += fmt.Sprintf(", options %d bytes", n)
	}
	return s + fmt.Sprintf(", length %d", len(t.Payload()))
}

// TCPFlagString gives control bits in tcpdump's letters: S F R P U E W and
// "." for ACK, "none" for no bits.
func TCPFlagString(f uint8) string {
	var b strings.Builder
	for _, x := range []struct {
		bit uint8
		c   byte
	}{{TCPFlagSyn, 'S'}, {TCPFlagFin, 'F'}, {TCPFlagRst, 'R'}, {TCPFlagPsh, 'P'},
		{TCPFlagUrg, 'U'}, {TCPFlagEce, 'E'}, {TCPFlagCwr, 'W'}, {TCPFlagAck, '.'}} {
		if f&x.bit != 0 {
			b.WriteByte(x.c)
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()
}

// TCPOptions walks TCP options (RFC 9293 3.2), calling f with the kind and
// data (the bytes after the kind and length octets, aliasing opts) of each
// option other than No-Operation and End of Option List. The walk stops at
// End of Option List. It returns an error wrapping ErrBadOption at an
// option that lacks its length octet, has a length below 2, or runs past
// the end of opts; options before it have been passed to f. The lengths of
// known kinds are not checked here: MSS data of other than 2 bytes is for
// the caller to ignore, as RFC 9293 3.2 allows.
func TCPOptions(opts []byte, f func(kind uint8, data []byte)) error {
	for i := 0; i < len(opts); {
		kind := opts[i]
		switch kind {
		case TCPOptEOL:
			return nil
		case TCPOptNOP:
			i++
			continue
		}
		if i+1 >= len(opts) {
			return fmt.Errorf("tcp option %d at %d: no length: %w", kind, i, ErrBadOption)
		}
		n := int(opts[i+1])
		if n < 2 {
			return fmt.Errorf("tcp option %d at %d: length %d: %w", kind, i, n, ErrBadOption)
		}
		if n > len(opts)-i {
			return fmt.Errorf("tcp option %d at %d: length %d overruns %d bytes: %w", kind, i, n, len(opts), ErrBadOption)
		}
		f(kind, opts[i+2:i+n:i+n])
		i += n
	}
	return nil
}
