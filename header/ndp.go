package header

import (
	"fmt"
	"net"
	"net/netip"
)

// NDPNSMinLen is the length of a Neighbor Solicitation without options:
// the ICMPv6 type, code and checksum, Reserved and Target Address
// (RFC 4861 4.3).
const NDPNSMinLen = 24

// NDPNAMinLen is the length of a Neighbor Advertisement without options
// (RFC 4861 4.4).
const NDPNAMinLen = 24

// Neighbor discovery option types (RFC 4861 4.6).
const (
	NDPOptSourceLLA    = 1 // Source Link-Layer Address
	NDPOptTargetLLA    = 2 // Target Link-Layer Address
	NDPOptPrefixInfo   = 3 // Prefix Information
	NDPOptRedirectedHd = 4 // Redirected Header
	NDPOptMTU          = 5 // MTU
)

// Offsets of the neighbor discovery message fields, counted from the start
// of the ICMPv6 header.
const (
	ndpFlags   = 4 // R, S, O flags of an advertisement
	ndpTarget  = 8 // Target Address
	ndpOptions = 24
)

// Neighbor Advertisement flag bits (RFC 4861 4.4).
const (
	ndpFlagRouter    = 0x80 // R
	ndpFlagSolicited = 0x40 // S
	ndpFlagOverride  = 0x20 // O
)

// NDPNeighborSolicit is a view of a whole Neighbor Solicitation message,
// starting at its ICMPv6 header (RFC 4861 4.3).
type NDPNeighborSolicit []byte

// Check reports whether n holds the fixed part of a solicitation
// (NDPNSMinLen bytes). Once it returns nil no method of n panics; the
// options are checked by Options().Walk.
func (n NDPNeighborSolicit) Check() error {
	if len(n) < NDPNSMinLen {
		return fmt.Errorf("ndp solicitation: %d bytes, need %d: %w", len(n), NDPNSMinLen, ErrTruncated)
	}
	return nil
}

// TargetAddress returns the Target Address field.
func (n NDPNeighborSolicit) TargetAddress() netip.Addr {
	return netip.AddrFrom16([16]byte(n[ndpTarget : ndpTarget+16]))
}

// Options returns the options after the Target Address. It aliases n.
func (n NDPNeighborSolicit) Options() NDPOptions { return NDPOptions(n[ndpOptions:]) }

// SetTargetAddress sets the Target Address field.
func (n NDPNeighborSolicit) SetTargetAddress(a netip.Addr) { setIPv6(n[ndpTarget:ndpTarget+16], a) }

// String describes the message like tcpdump: "ICMP6, neighbor solicitation,
// who has fe80::2, length 32".
func (n NDPNeighborSolicit) String() string {
	if err := n.Check(); err != nil {
		return err.Error()
	}
	s := fmt.Sprintf("ICMP6, neighbor solicitation, who has %s", n.TargetAddress())
	if lla := n.Options().LinkLayerAddr(NDPOptSourceLLA); lla != nil {
		s += ", source link-address " + lla.String()
	}
	return s + ", length " + itoa(len(n))
}

// NDPNeighborAdvert is a view of a whole Neighbor Advertisement message,
// starting at its ICMPv6 header (RFC 4861 4.4).
type NDPNeighborAdvert []byte

// Check reports whether n holds the fixed part of an advertisement
// (NDPNAMinLen bytes). Once it returns nil no method of n panics; the
// options are checked by Options().Walk.
func (n NDPNeighborAdvert) Check() error {
	if len(n) < NDPNAMinLen {
		return fmt.Errorf("ndp advertisement: %d bytes, need %d: %w", len(n), NDPNAMinLen, ErrTruncated)
	}
	return nil
}

// Router reports the Router flag (R): the sender is a router.
func (n NDPNeighborAdvert) Router() bool { return n[ndpFlags]&ndpFlagRouter != 0 }

// Solicited reports the Solicited flag (S): the advertisement answers a
// solicitation.
func (n NDPNeighborAdvert) Solicited() bool { return n[ndpFlags]&ndpFlagSolicited != 0 }

// Override reports the Override flag (O): the advertisement should replace
// a cached link-layer address.
func (n NDPNeighborAdvert) Override() bool { return n[ndpFlags]&ndpFlagOverride != 0 }

// TargetAddress returns the Target Address field.
func (n NDPNeighborAdvert) TargetAddress() netip.Addr {
	return netip.AddrFrom16([16]byte(n[ndpTarget : ndpTarget+16]))
}

// Options returns the options after the Target Address. It aliases n.
func (n NDPNeighborAdvert) Options() NDPOptions { return NDPOptions(n[ndpOptions:]) }

// SetFlags sets the R, S and O flags, clearing the Reserved bits.
func (n NDPNeighborAdvert) SetFlags(router, solicited, override bool) {
	var f byte
	if router {
		f |= ndpFlagRouter
	}
	if solicited {
		f |= ndpFlagSolicited
	}
	if override {
		f |= ndpFlagOverride
	}
	n[ndpFlags] = f
	clear(n[ndpFlags+1 : ndpTarget])
}

// SetTargetAddress sets the Target Address field.
func (n NDPNeighborAdvert) SetTargetAddress(a netip.Addr) { setIPv6(n[ndpTarget:ndpTarget+16], a) }

// String describes the message like tcpdump: "ICMP6, neighbor advertisement,
// tgt is fe80::2, Flags [solicited, override], length 32".
func (n NDPNeighborAdvert) String() string {
	if err := n.Check(); err != nil {
		return err.Error()
	}
	flags := ""
	for _, f := range []struct {
		on   bool
		name string
	}{{n.Router(), "router"}, {n.Solicited(), "solicited"}, {n.Override(), "override"}} {
		if f.on {
			if flags != "" {
				flags += ", "
			}
			flags += f.name
		}
	}
	if flags == "" {
		flags = "none"
	}
	s := fmt.Sprintf("ICMP6, neighbor advertisement, tgt is %s, Flags [%s]", n.TargetAddress(), flags)
	if lla := n.Options().LinkLayerAddr(NDPOptTargetLLA); lla != nil {
		s += ", target link-address " + lla.String()
	}
	return s + ", length " + itoa(len(n))
}

// BuildNDPNS writes a Neighbor Solicitation for target into b: the ICMPv6
// header (type 135, code 0, checksum 0 for the caller to compute), Reserved,
// the Target Address and, if srcLLA is not nil, a Source Link-Layer Address
// option padded to 8 bytes. It returns the message length; b must hold it
// (32 bytes with an Ethernet address).
func BuildNDPNS(b []byte, target netip.Addr, srcLLA net.HardwareAddr) int {
	clear(b[:ndpOptions])
	b[icmpType] = ICMPv6NeighborSolicit
	NDPNeighborSolicit(b).SetTargetAddress(target)
	return ndpOptions + putLLAOption(b[ndpOptions:], NDPOptSourceLLA, srcLLA)
}

// BuildNDPNA writes a Neighbor Advertisement for target into b: the ICMPv6
// header (type 136, code 0, checksum 0 for the caller to compute), the R, S
// and O flags, the Target Address and, if tgtLLA is not nil, a Target
// Link-Layer Address option padded to 8 bytes. It returns the message
// length; b must hold it (32 bytes with an Ethernet address).
func BuildNDPNA(b []byte, target netip.Addr, router, solicited, override bool, tgtLLA net.HardwareAddr) int {
	clear(b[:ndpOptions])
	b[icmpType] = ICMPv6NeighborAdvert
	na := NDPNeighborAdvert(b)
	na.SetFlags(router, solicited, override)
	na.SetTargetAddress(target)
	return ndpOptions + putLLAOption(b[ndpOptions:], NDPOptTargetLLA, tgtLLA)
}

// putLLAOption writes a link-layer address option into b and returns its
// length, a multiple of 8; nothing for a nil address.
func putLLAOption(b []byte, typ uint8, lla net.HardwareAddr) int {
	if lla == nil {
		return 0
	}
	n := (2 + len(lla) + 7) &^ 7
	b[0] = typ
	b[1] = byte(n / 8)
	copy(b[2:], lla)
	clear(b[2+len(lla) : n])
	return n
}

// NDPOptions is a view of the options of a neighbor discovery message
// (RFC 4861 4.6): each a Type octet, a Length octet counting units of 8
// bytes (the type and length included), and data.
type NDPOptions []byte

// Walk calls f with the Type and the data (the bytes after Type and Length,
// padding included, aliasing o) of each option in order. It returns an
// error wrapping ErrBadOption at an option whose Length is 0 (RFC 4861 4.6
// says to discard such a packet) or that runs past the end of o; options
// before it have been passed to f.
func (o NDPOptions) Walk(f func(typ uint8, data []byte)) error {
	for i := 0; i < len(o); {
		if len(o)-i < 2 {
			return fmt.Errorf("ndp option at %d: %d bytes left: %w", i, len(o)-i, ErrBadOption)
		}
		n := int(o[i+1]) * 8
		if n == 0 {
			return fmt.Errorf("ndp option %d at %d: length 0: %w", o[i], i, ErrBadOption)
		}
		if n > len(o)-i {
			return fmt.Errorf("ndp option %d at %d: %d bytes, have %d: %w", o[i], i, n, len(o)-i, ErrBadOption)
		}
		f(o[i], o[i+2:i+n:i+n])
		i += n
	}
	return nil
}

// LinkLayerAddr returns the address in the first option of type typ
// (NDPOptSourceLLA or NDPOptTargetLLA), taken as a 6-byte Ethernet address
// (RFC 2464 8), aliasing o. It returns nil if there is no such option before
// the first malformed one.
func (o NDPOptions) LinkLayerAddr(typ uint8) net.HardwareAddr {
	for i := 0; len(o)-i >= 2; {
		n := int(o[i+1]) * 8
		if n == 0 || n > len(o)-i {
			return nil
		}
		if o[i] == typ { // n ≥ 8: the option holds 6 bytes of data
			return net.HardwareAddr(o[i+2 : i+8 : i+8])
		}
		i += n
	}
	return nil
}

// String lists the options by type and length: "[1 len 8, 2 len 8]", or
// the walk's error.
func (o NDPOptions) String() string {
	s := "["
	err := o.Walk(func(typ uint8, data []byte) {
		if len(s) > 1 {
			s += ", "
		}
		s += itoa(int(typ)) + " len " + itoa(len(data)+2)
	})
	s += "]"
	if err != nil {
		s += " " + err.Error()
	}
	return s
}

// IPv6SolicitedNodeMulticast returns the solicited-node multicast address of
// a: ff02::1:ff00:0/104 with the low 24 bits of a (RFC 4291 2.7.1).
func IPv6SolicitedNodeMulticast(a netip.Addr) netip.Addr {
	b := a.As16()
	return netip.AddrFrom16([16]byte{0xff, 0x02, 10: 0, 11: 0x01, 12: 0xff, 13: b[13], 14: b[14], 15: b[15]})
}
