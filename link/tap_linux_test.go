//go:build linux

package link_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet/internal/netns"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/mbuf"
)

var (
	kernelIP4 = netip.MustParseAddr("10.99.0.1")
	ourIP4    = netip.MustParseAddr("10.99.0.2")
	kernelIP6 = netip.MustParseAddr("fd99::1")
	ourIP6    = netip.MustParseAddr("fd99::2")
	broadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

const (
	etherTypeIPv4 = 0x0800
	etherTypeARP  = 0x0806
	etherTypeIPv6 = 0x86dd
	arpRequest    = 1
	arpReply      = 2
	icmp6NS       = 135
	icmp6NA       = 136
	protoICMPv6   = 58
	ip6HdrLen     = 40
)

// etherHdr writes an Ethernet II header into b.
func etherHdr(b []byte, dst, src net.HardwareAddr, typ uint16) {
	copy(b[0:6], dst)
	copy(b[6:12], src)
	binary.BigEndian.PutUint16(b[12:14], typ)
}

// arpFrame builds an Ethernet ARP packet for IPv4 (42 bytes).
func arpFrame(dst net.HardwareAddr, op uint16, sha net.HardwareAddr, spa netip.Addr, tha net.HardwareAddr, tpa netip.Addr) []byte {
	b := make([]byte, link.EtherHdrLen+28)
	etherHdr(b, dst, sha, etherTypeARP)
	a := b[link.EtherHdrLen:]
	binary.BigEndian.PutUint16(a[0:2], 1) // hardware type Ethernet
	binary.BigEndian.PutUint16(a[2:4], etherTypeIPv4)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], op)
	copy(a[8:14], sha)
	s4 := spa.As4()
	copy(a[14:18], s4[:])
	copy(a[18:24], tha)
	t4 := tpa.As4()
	copy(a[24:28], t4[:])
	return b
}

// arpPacket is a parsed Ethernet ARP frame.
type arpPacket struct {
	ethDst   net.HardwareAddr
	op       uint16
	sha, tha net.HardwareAddr
	spa, tpa netip.Addr
}

func parseARP(b []byte) (arpPacket, bool) {
	if len(b) < link.EtherHdrLen+28 || binary.BigEndian.Uint16(b[12:14]) != etherTypeARP {
		return arpPacket{}, false
	}
	a := b[link.EtherHdrLen:]
	if binary.BigEndian.Uint16(a[0:2]) != 1 || binary.BigEndian.Uint16(a[2:4]) != etherTypeIPv4 || a[4] != 6 || a[5] != 4 {
		return arpPacket{}, false
	}
	return arpPacket{
		ethDst: net.HardwareAddr(b[0:6]),
		op:     binary.BigEndian.Uint16(a[6:8]),
		sha:    net.HardwareAddr(a[8:14]),
		spa:    netip.AddrFrom4([4]byte(a[14:18])),
		tha:    net.HardwareAddr(a[18:24]),
		tpa:    netip.AddrFrom4([4]byte(a[24:28])),
	}, true
}

// inetChecksum is the Internet checksum (RFC 1071) of the concatenated
// pieces, each but the last of even length.
func inetChecksum(pieces ...[]byte) uint16 {
	var sum uint32
	for _, p := range pieces {
		for len(p) >= 2 {
			sum += uint32(p[0])<<8 | uint32(p[1])
			p = p[2:]
		}
		if len(p) == 1 {
			sum += uint32(p[0]) << 8
		}
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// icmp6Checksum is the ICMPv6 checksum of msg (its checksum field zero or
// filled in) with the IPv6 pseudo header (RFC 8200, section 8.1).
func icmp6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	var ph [40]byte
	s, d := src.As16(), dst.As16()
	copy(ph[0:16], s[:])
	copy(ph[16:32], d[:])
	binary.BigEndian.PutUint32(ph[32:36], uint32(len(msg)))
	ph[39] = protoICMPv6
	return inetChecksum(ph[:], msg)
}

// solicitedNode returns the solicited-node multicast address of a and its
// Ethernet multicast address.
func solicitedNode(a netip.Addr) (netip.Addr, net.HardwareAddr) {
	b := a.As16()
	m := [16]byte{0xff, 0x02, 11: 0x01, 12: 0xff, 13: b[13], 14: b[14], 15: b[15]}
	return netip.AddrFrom16(m), net.HardwareAddr{0x33, 0x33, m[12], m[13], m[14], m[15]}
}

// neighborSolicitation builds an Ethernet frame carrying an ICMPv6 Neighbor
// Solicitation for target from src, with a source link-layer address
// option (RFC 4861, section 4.3).
func neighborSolicitation(srcMAC net.HardwareAddr, src, target netip.Addr) []byte {
	dst, dstMAC := solicitedNode(target)
	const icmpLen = 24 + 8
	b := make([]byte, link.EtherHdrLen+ip6HdrLen+icmpLen)
	etherHdr(b, dstMAC, srcMAC, etherTypeIPv6)
	ip := b[link.EtherHdrLen:]
	ip[0] = 6 << 4
	binary.BigEndian.PutUint16(ip[4:6], icmpLen)
	ip[6] = protoICMPv6
	ip[7] = 255 // hop limit: ND messages must carry 255
	s, d := src.As16(), dst.As16()
	copy(ip[8:24], s[:])
	copy(ip[24:40], d[:])
	icmp := ip[ip6HdrLen:]
	icmp[0] = icmp6NS
	tg := target.As16()
	copy(icmp[8:24], tg[:])
	icmp[24], icmp[25] = 1, 1 // source link-layer address, 8 bytes
	copy(icmp[26:32], srcMAC)
	binary.BigEndian.PutUint16(icmp[2:4], icmp6Checksum(src, dst, icmp))
	return b
}

// neighborAdvert is a parsed Neighbor Advertisement.
type neighborAdvert struct {
	ethDst   net.HardwareAddr
	src, dst netip.Addr
	hopLimit byte
	target   netip.Addr
	flags    byte
	csumOK   bool
}

func parseNA(b []byte) (neighborAdvert, bool) {
	if len(b) < link.EtherHdrLen+ip6HdrLen+24 || binary.BigEndian.Uint16(b[12:14]) != etherTypeIPv6 {
		return neighborAdvert{}, false
	}
	ip := b[link.EtherHdrLen:]
	plen := int(binary.BigEndian.Uint16(ip[4:6]))
	if ip[0]>>4 != 6 || ip[6] != protoICMPv6 || plen < 24 || len(ip) < ip6HdrLen+plen {
		return neighborAdvert{}, false
	}
	icmp := ip[ip6HdrLen : ip6HdrLen+plen]
	if icmp[0] != icmp6NA {
		return neighborAdvert{}, false
	}
	na := neighborAdvert{
		ethDst:   net.HardwareAddr(b[0:6]),
		src:      netip.AddrFrom16([16]byte(ip[8:24])),
		dst:      netip.AddrFrom16([16]byte(ip[24:40])),
		hopLimit: ip[7],
		flags:    icmp[4],
		target:   netip.AddrFrom16([16]byte(icmp[8:24])),
	}
	na.csumOK = icmp6Checksum(na.src, na.dst, icmp) == 0
	return na, true
}

func TestInetChecksum(t *testing.T) {
	// RFC 1071's example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
	if got := inetChecksum([]byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}); got != ^uint16(0xddf2) {
		t.Errorf("checksum = %#04x, want %#04x", got, ^uint16(0xddf2))
	}
	// A message with its checksum filled in checks to zero.
	f := neighborSolicitation(link.MACFromName("x"), ourIP6, kernelIP6)
	ip := f[link.EtherHdrLen:]
	dst := netip.AddrFrom16([16]byte(ip[24:40]))
	if got := icmp6Checksum(ourIP6, dst, ip[ip6HdrLen:]); got != 0 {
		t.Errorf("filled-in NS checks to %#04x, want 0", got)
	}
}

func TestMACFromName(t *testing.T) {
	a, b := link.MACFromName("tap0"), link.MACFromName("tap1")
	if !bytes.Equal(a, link.MACFromName("tap0")) {
		t.Error("MACFromName is not stable")
	}
	if bytes.Equal(a, b) {
		t.Error("tap0 and tap1 got the same address")
	}
	for _, m := range []net.HardwareAddr{a, b} {
		if len(m) != 6 || m[0]&2 == 0 || m[0]&1 != 0 {
			t.Errorf("%v is not a locally administered unicast address", m)
		}
	}
}

// TestTAPKernelPeer checks the TAP driver against Linux: frames we send
// reach the kernel's ARP and IPv6 neighbor discovery, which answer, and the
// kernel's own requests reach us.
func TestTAPKernelPeer(t *testing.T) {
	ns := netns.New(t, "tap")
	pool := mbuf.NewPool()
	ifp, err := link.OpenTAP("bsdnet%d", pool)
	if err != nil {
		t.Skipf("cannot create a TAP device: %v", err)
	}
	t.Cleanup(func() { ifp.Close() }) // before the namespace goes
	ourMAC := ifp.HWAddr()
	if ifp.MTU() != 1500 || ifp.Type() != link.Ethernet || !ifp.Checksum.Load() || !ifp.Up() {
		t.Fatalf("tap interface %s: mtu %d type %v checksum %v up %v", ifp.Name(), ifp.MTU(), ifp.Type(), ifp.Checksum.Load(), ifp.Up())
	}
	if !bytes.Equal(ourMAC, link.MACFromName(ifp.Name())) {
		t.Errorf("hardware address %v, want MACFromName(%q) = %v", ourMAC, ifp.Name(), link.MACFromName(ifp.Name()))
	}
	in := capture(ifp)
	if err := ns.AdoptTAP(ifp.Name(), "10.99.0.1/24", "fd99::1/64"); err != nil {
		t.Fatal(err)
	}
	t.Logf("TAP %s (%v) in namespace %s", ifp.Name(), ourMAC, ns.Name())

	var kernelMAC net.HardwareAddr
	t.Run("ARP", func(t *testing.T) {
		req := arpFrame(broadcast, arpRequest, ourMAC, ourIP4, make(net.HardwareAddr, 6), kernelIP4)
		if len(req) != 42 {
			t.Fatalf("ARP request is %d bytes, want 42", len(req))
		}
		// In three mbufs, so the frame goes out through writev.
		if err := ifp.Transmit(chain(pool, req, 14, 22)); err != nil {
			t.Fatal(err)
		}
		b := in.wait(t, 5*time.Second, "ARP reply from the kernel", func(b []byte) bool {
			a, ok := parseARP(b)
			return ok && a.op == arpReply && a.spa == kernelIP4
		})
		a, _ := parseARP(b)
		if !bytes.Equal(a.ethDst, ourMAC) || !bytes.Equal(a.tha, ourMAC) || a.tpa != ourIP4 {
			t.Errorf("ARP reply to %v (%v, %v), want to %v (%v)", a.ethDst, a.tha, a.tpa, ourMAC, ourIP4)
		}
		kernelMAC = a.sha
		if !bytes.Equal(b[6:12], a.sha) {
			t.Errorf("ARP reply from Ethernet %v but sender %v", net.HardwareAddr(b[6:12]), a.sha)
		}
	})

	t.Run("NDP", func(t *testing.T) {
		ns6 := neighborSolicitation(ourMAC, ourIP6, kernelIP6)
		// The kernel may not listen on a freshly configured IPv6 interface
		// at once (a loaded machine): solicit again until it answers, as ND
		// itself retransmits.
		var b []byte
		for try := 0; try < 10 && b == nil; try++ {
			if err := ifp.Transmit(pool.CopyIn(mbuf.MT_DATA, ns6, 0)); err != nil {
				t.Fatal(err)
			}
			b = in.poll(time.Second, func(b []byte) bool {
				na, ok := parseNA(b)
				return ok && na.target == kernelIP6
			})
		}
		if b == nil {
			t.Fatal("no Neighbor Advertisement from the kernel after 10 solicitations")
		}
		na, _ := parseNA(b)
		if !na.csumOK {
			t.Error("Neighbor Advertisement has a bad checksum")
		}
		if na.dst != ourIP6 || !bytes.Equal(na.ethDst, ourMAC) || na.hopLimit != 255 {
			t.Errorf("NA to %v (%v) hop limit %d, want to %v (%v), 255", na.dst, na.ethDst, na.hopLimit, ourIP6, ourMAC)
		}
		if na.flags&0x40 == 0 { // S: solicited
			t.Errorf("NA flags %#x lack Solicited", na.flags)
		}
		if kernelMAC != nil && !bytes.Equal(b[6:12], kernelMAC) {
			t.Errorf("NA from %v, ARP reply was from %v", net.HardwareAddr(b[6:12]), kernelMAC)
		}
	})

	t.Run("KernelARP", func(t *testing.T) {
		if _, err := exec.LookPath("ping"); err != nil {
			t.Skip("ping is not installed (apt-get install -y iputils-ping)")
		}
		// Our ARP request left 10.99.0.2 in the kernel's neighbor
		// table; forget it so that the ping must ask.
		if _, err := ns.IP("neigh", "flush", "dev", ifp.Name()); err != nil {
			t.Fatal(err)
		}
		before := ifp.Stats.Ipackets.Load()
		done := make(chan struct{})
		go func() {
			defer close(done)
			// No one answers: the ping fails, which does not matter.
			ns.Exec("ping", "-c1", "-W1", ourIP4.String())
		}()
		defer func() { <-done }()
		b := in.wait(t, 5*time.Second, "ARP request from the kernel", func(b []byte) bool {
			a, ok := parseARP(b)
			return ok && a.op == arpRequest && a.tpa == ourIP4
		})
		a, _ := parseARP(b)
		if a.spa != kernelIP4 || (kernelMAC != nil && !bytes.Equal(a.sha, kernelMAC)) {
			t.Errorf("ARP request from %v (%v), want %v (%v)", a.spa, a.sha, kernelIP4, kernelMAC)
		}
		if ifp.Stats.Ipackets.Load() <= before {
			t.Error("Ipackets did not move")
		}
	})

	if n := ifp.Stats.Opackets.Load(); n < 2 {
		t.Errorf("Opackets = %d, want at least 2", n)
	}
	if n := ifp.Stats.Obytes.Load(); n < 42+86 {
		t.Errorf("Obytes = %d, want at least %d", n, 42+86)
	}
	if n := ifp.Stats.Ipackets.Load(); n < 2 {
		t.Errorf("Ipackets = %d, want at least 2", n)
	}
	if n := ifp.Stats.Oerrors.Load(); n != 0 {
		t.Errorf("Oerrors = %d", n)
	}

	// Closing the interface removes the device from the namespace and
	// stops the reader.
	if err := ifp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ifp.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	noGoroutine(t, "link.(*tap).readLoop")
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, err := ns.IP("link", "show", "dev", ifp.Name()); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("device %s still exists after Close", ifp.Name())
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTAPOversize checks that a frame longer than the MTU is refused
// before it reaches the device, and that a device whose kernel end is down
// refuses frames.
func TestTAPOversize(t *testing.T) {
	if ok, why := netns.Available(); !ok {
		t.Skip(why)
	}
	pool := mbuf.NewPool()
	ifp, err := link.OpenTAP("bsdnet%d", pool)
	if err != nil {
		t.Skipf("cannot create a TAP device: %v", err)
	}
	defer ifp.Close()
	f := testFrame(broadcast, ifp.HWAddr(), 1501, 0)
	if err := ifp.Transmit(pool.CopyIn(mbuf.MT_DATA, f, 0)); !errors.Is(err, syscall.EMSGSIZE) {
		t.Errorf("a 1515-byte frame: got %v, want EMSGSIZE", err)
	}
	if n := ifp.Stats.Oerrors.Load(); n != 1 {
		t.Errorf("Oerrors = %d, want 1", n)
	}
	// The kernel's end of the device is down (no one set it up in the
	// host namespace): the device refuses frames with EIO.
	err = ifp.Transmit(pool.CopyIn(mbuf.MT_DATA, testFrame(broadcast, ifp.HWAddr(), 1500, 0), 0))
	if !errors.Is(err, syscall.EIO) {
		t.Errorf("frame to a device that is down: got %v, want EIO", err)
	}
	if err := ifp.Close(); err != nil {
		t.Fatal(err)
	}
	noGoroutine(t, "link.(*tap).readLoop")
}
