package header

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// ARPLen is the length of an ARP packet for Ethernet and IPv4 (RFC 826).
const ARPLen = 28

// ARP opcodes (ar$op).
const (
	ARPRequest = 1 // ares_op$REQUEST
	ARPReply   = 2 // ares_op$REPLY
)

// ARP hardware and protocol types that Check accepts.
const (
	ARPHardwareEthernet = 1 // ares_hrd$Ethernet
	arpHLen             = 6
	arpPLen             = 4
)

// Offsets of the ARP fields for Ethernet and IPv4.
const (
	arpHrd = 0  // ar$hrd
	arpPro = 2  // ar$pro
	arpHln = 4  // ar$hln
	arpPln = 5  // ar$pln
	arpOp  = 6  // ar$op
	arpSha = 8  // ar$sha
	arpSpa = 14 // ar$spa
	arpTha = 18 // ar$tha
	arpTpa = 24 // ar$tpa
)

// ARP is a view of an ARP packet (RFC 826) for Ethernet hardware addresses
// and IPv4 protocol addresses, the only kind bsdnet resolves.
type ARP []byte

// Check reports whether a is a whole Ethernet/IPv4 ARP packet: 28 bytes,
// ar$hrd 1 (Ethernet), ar$pro 0x0800, ar$hln 6 and ar$pln 4. Once it returns
// nil no method of a panics. The opcode is not checked.
func (a ARP) Check() error {
	if len(a) < ARPLen {
		return fmt.Errorf("arp: %d bytes, need %d: %w", len(a), ARPLen, ErrTruncated)
	}
	if a.HardwareType() != ARPHardwareEthernet || a.ProtocolType() != EtherTypeIPv4 ||
		a[arpHln] != arpHLen || a[arpPln] != arpPLen {
		return fmt.Errorf("arp: hrd %d pro 0x%04x hln %d pln %d: %w",
			a.HardwareType(), a.ProtocolType(), a[arpHln], a[arpPln], ErrUnsupported)
	}
	return nil
}

// HardwareType returns ar$hrd, the hardware address space.
func (a ARP) HardwareType() uint16 { return binary.BigEndian.Uint16(a[arpHrd:]) }

// ProtocolType returns ar$pro, the protocol address space (an EtherType).
func (a ARP) ProtocolType() uint16 { return binary.BigEndian.Uint16(a[arpPro:]) }

// Op returns ar$op, the opcode (ARPRequest or ARPReply).
func (a ARP) Op() uint16 { return binary.BigEndian.Uint16(a[arpOp:]) }

// SenderHW returns ar$sha, the sender hardware address. It aliases a.
func (a ARP) SenderHW() net.HardwareAddr { return net.HardwareAddr(a[arpSha : arpSha+6 : arpSha+6]) }

// SenderIP returns ar$spa, the sender protocol address.
func (a ARP) SenderIP() netip.Addr { return netip.AddrFrom4([4]byte(a[arpSpa : arpSpa+4])) }

// TargetHW returns ar$tha, the target hardware address. It aliases a.
func (a ARP) TargetHW() net.HardwareAddr { return net.HardwareAddr(a[arpTha : arpTha+6 : arpTha+6]) }

// TargetIP returns ar$tpa, the target protocol address.
func (a ARP) TargetIP() netip.Addr { return netip.AddrFrom4([4]byte(a[arpTpa : arpTpa+4])) }

// SetOp sets ar$op.
func (a ARP) SetOp(op uint16) { binary.BigEndian.PutUint16(a[arpOp:], op) }

// SetSenderHW sets ar$sha; a nil hw leaves zeros.
func (a ARP) SetSenderHW(hw net.HardwareAddr) { setMAC(a[arpSha:arpSha+6], hw) }

// SetSenderIP sets ar$spa; an address that is not IPv4 leaves zeros.
func (a ARP) SetSenderIP(ip netip.Addr) { setIPv4(a[arpSpa:arpSpa+4], ip) }

// SetTargetHW sets ar$tha; a nil hw leaves zeros (as in a request).
func (a ARP) SetTargetHW(hw net.HardwareAddr) { setMAC(a[arpTha:arpTha+6], hw) }

// SetTargetIP sets ar$tpa; an address that is not IPv4 leaves zeros.
func (a ARP) SetTargetIP(ip netip.Addr) { setIPv4(a[arpTpa:arpTpa+4], ip) }

// BuildARP writes a 28-byte Ethernet/IPv4 ARP packet into b (which must
// hold ARPLen bytes): hardware type 1, protocol type 0x0800, lengths 6 and
// 4, the opcode and the four addresses. A nil tha writes zeros.
func BuildARP(b []byte, op uint16, sha net.HardwareAddr, spa netip.Addr, tha net.HardwareAddr, tpa netip.Addr) {
	a := ARP(b[:ARPLen])
	binary.BigEndian.PutUint16(a[arpHrd:], ARPHardwareEthernet)
	binary.BigEndian.PutUint16(a[arpPro:], EtherTypeIPv4)
	a[arpHln] = arpHLen
	a[arpPln] = arpPLen
	a.SetOp(op)
	a.SetSenderHW(sha)
	a.SetSenderIP(spa)
	a.SetTargetHW(tha)
	a.SetTargetIP(tpa)
}

// String describes the packet like tcpdump: "ARP, Request who-has 10.0.0.2
// tell 10.0.0.1 (02:00:00:00:00:01)" or "ARP, Reply 10.0.0.2 is-at
// 02:00:00:00:00:02".
func (a ARP) String() string {
	if err := a.Check(); err != nil {
		return err.Error()
	}
	switch a.Op() {
	case ARPRequest:
		return fmt.Sprintf("ARP, Request who-has %s tell %s (%s)", a.TargetIP(), a.SenderIP(), a.SenderHW())
	case ARPReply:
		return fmt.Sprintf("ARP, Reply %s is-at %s", a.SenderIP(), a.SenderHW())
	}
	return fmt.Sprintf("ARP, op %d, sender %s (%s), target %s (%s)",
		a.Op(), a.SenderIP(), a.SenderHW(), a.TargetIP(), a.TargetHW())
}

// setIPv4 writes an IPv4 address into dst[:4], or zeros if ip is not one
// (an IPv4-mapped IPv6 address is unmapped first).
func setIPv4(dst []byte, ip netip.Addr) {
	ip = ip.Unmap()
	if !ip.Is4() {
		clear(dst[:4])
		return
	}
	b := ip.As4()
	copy(dst[:4], b[:])
}

// setIPv6 writes an address as 16 bytes into dst (an IPv4 address in its
// mapped form), or zeros if ip is invalid.
func setIPv6(dst []byte, ip netip.Addr) {
	if !ip.IsValid() {
		clear(dst[:16])
		return
	}
	b := ip.As16()
	copy(dst[:16], b[:])
}
