package header

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// EthernetLen is the length of an Ethernet II header: destination, source
// and EtherType, without a VLAN tag or the frame check sequence.
const EthernetLen = 14

// EtherType values (IEEE 802 numbers) for the Type field.
const (
	EtherTypeIPv4 = 0x0800 // Internet Protocol version 4, RFC 894
	EtherTypeARP  = 0x0806 // Address Resolution Protocol, RFC 826
	EtherTypeIPv6 = 0x86dd // Internet Protocol version 6, RFC 2464
)

// Offsets of the Ethernet header fields.
const (
	ethDst  = 0
	ethSrc  = 6
	ethType = 12
)

// Ethernet is a view of an Ethernet II frame, header first (the DIX frame
// that RFC 894 and RFC 2464 carry IP in), without the frame check sequence.
type Ethernet []byte

// Check reports whether e holds a whole Ethernet header. Once it returns
// nil no method of e panics.
func (e Ethernet) Check() error {
	if len(e) < EthernetLen {
		return fmt.Errorf("ethernet: %d bytes, need %d: %w", len(e), EthernetLen, ErrTruncated)
	}
	return nil
}

// Dst returns the Destination Address. It aliases e.
func (e Ethernet) Dst() net.HardwareAddr { return net.HardwareAddr(e[ethDst : ethDst+6 : ethDst+6]) }

// Src returns the Source Address. It aliases e.
func (e Ethernet) Src() net.HardwareAddr { return net.HardwareAddr(e[ethSrc : ethSrc+6 : ethSrc+6]) }

// Type returns the EtherType field.
func (e Ethernet) Type() uint16 { return binary.BigEndian.Uint16(e[ethType:]) }

// Payload returns the bytes after the header.
func (e Ethernet) Payload() []byte { return e[EthernetLen:] }

// SetDst sets the Destination Address; a nil or short a leaves zeros.
func (e Ethernet) SetDst(a net.HardwareAddr) { setMAC(e[ethDst:ethDst+6], a) }

// SetSrc sets the Source Address; a nil or short a leaves zeros.
func (e Ethernet) SetSrc(a net.HardwareAddr) { setMAC(e[ethSrc:ethSrc+6], a) }

// SetType sets the EtherType field.
func (e Ethernet) SetType(t uint16) { binary.BigEndian.PutUint16(e[ethType:], t) }

// String describes the header like tcpdump -e: "src > dst, ethertype IPv4
// (0x0800), length n".
func (e Ethernet) String() string {
	if err := e.Check(); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%s > %s, ethertype %s (0x%04x), length %d",
		e.Src(), e.Dst(), etherTypeName(e.Type()), e.Type(), len(e))
}

// etherTypeName names the EtherTypes this package knows.
func etherTypeName(t uint16) string {
	switch t {
	case EtherTypeIPv4:
		return "IPv4"
	case EtherTypeARP:
		return "ARP"
	case EtherTypeIPv6:
		return "IPv6"
	}
	return "Unknown"
}

// setMAC copies a 6-byte address into dst, zeroing what a does not cover.
func setMAC(dst []byte, a net.HardwareAddr) {
	n := copy(dst[:6], a)
	clear(dst[n:6])
}

// BroadcastMAC returns the Ethernet broadcast address ff:ff:ff:ff:ff:ff, a
// new slice on each call.
func BroadcastMAC() net.HardwareAddr {
	return net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
}

// IPv4MulticastMAC returns the Ethernet group address of an IPv4 multicast
// address: 01:00:5e followed by the low 23 bits of a (RFC 1112 6.4). It
// returns nil if a is not an IPv4 address.
func IPv4MulticastMAC(a netip.Addr) net.HardwareAddr {
	if !a.Is4() {
		return nil
	}
	b := a.As4()
	return net.HardwareAddr{0x01, 0x00, 0x5e, b[1] & 0x7f, b[2], b[3]}
}

// IPv6MulticastMAC returns the Ethernet group address of an IPv6 multicast
// address: 33:33 followed by the low 32 bits of a (RFC 2464 7). It returns
// nil if a is not an IPv6 address.
func IPv6MulticastMAC(a netip.Addr) net.HardwareAddr {
	if !a.Is6() {
		return nil
	}
	b := a.As16()
	return net.HardwareAddr{0x33, 0x33, b[12], b[13], b[14], b[15]}
}
