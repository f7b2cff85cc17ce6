package inet

// Fuzz targets for the stack's input paths. Each input runs in a fresh
// pair of stacks joined by the in-test cable (helpers_test.go), inside a
// testing/synctest bubble so that reassembly and resolution timers run on
// virtual time. The seed corpora are valid packets built by hand; they run
// in every go test.
//
//	go test -run XXX -fuzz FuzzEtherInput -fuzztime 30s ./inet/

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// The addresses and hardware addresses of pair's hosts.
var (
	fzA4, fzB4 = netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	fzA6, fzB6 = netip.MustParseAddr("fd00::1"), netip.MustParseAddr("fd00::2")
	fzMACA     = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	fzMACB     = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

// ---- packet builders ----

func fzEther(dst, src net.HardwareAddr, typ uint16, payload []byte) []byte {
	b := make([]byte, header.EthernetLen+len(payload))
	e := header.Ethernet(b)
	e.SetDst(dst)
	e.SetSrc(src)
	e.SetType(typ)
	copy(b[header.EthernetLen:], payload)
	return b
}

// fzIPv4 is an IPv4 packet (header checksum computed) carrying payload, a
// fragment when off or mf say so.
func fzIPv4(src, dst netip.Addr, proto uint8, id uint16, off int, mf bool, payload []byte) []byte {
	return fzIPv4Opts(src, dst, proto, id, off, mf, nil, payload)
}

// fzIPv4Opts is fzIPv4 with IP options in the header.
func fzIPv4Opts(src, dst netip.Addr, proto uint8, id uint16, off int, mf bool, opts, payload []byte) []byte {
	f := header.IPv4Fields{ID: id, MF: mf, FragOffset: off, TTL: 64,
		Protocol: proto, Src: src, Dst: dst, Options: opts}
	hl := f.HeaderLen()
	f.TotalLen = hl + len(payload)
	b := make([]byte, f.TotalLen)
	f.Encode(b)
	copy(b[hl:], payload)
	return b
}

func fzIPv6(src, dst netip.Addr, next, hops uint8, payload []byte) []byte {
	b := make([]byte, header.IPv6Len+len(payload))
	header.IPv6Fields{PayloadLen: len(payload), NextHeader: next, HopLimit: hops, Src: src, Dst: dst}.Encode(b)
	copy(b[header.IPv6Len:], payload)
	return b
}

// fzIPv6Frag is an IPv6 packet with a Fragment header before payload.
func fzIPv6Frag(src, dst netip.Addr, next uint8, id uint32, off int, more bool, payload []byte) []byte {
	p := make([]byte, 8+len(payload))
	header.BuildIPv6Fragment(p, next, off, more, id)
	copy(p[8:], payload)
	return fzIPv6(src, dst, header.ProtoIPv6Frag, 64, p)
}

// fzUDP is a UDP datagram with its checksum over the pseudo header of src
// and dst.
func fzUDP(src, dst netip.Addr, sport, dport uint16, data []byte) []byte {
	b := make([]byte, header.UDPLen+len(data))
	u := header.UDP(b)
	u.SetSrcPort(sport)
	u.SetDstPort(dport)
	binary.BigEndian.PutUint16(b[4:], uint16(len(b)))
	copy(b[header.UDPLen:], data)
	sum := ^header.Checksum(b, header.PseudoHeaderChecksum(header.ProtoUDP, src, dst, uint16(len(b))))
	if sum == 0 {
		sum = 0xffff
	}
	binary.BigEndian.PutUint16(b[6:], sum)
	return b
}

func fzICMPv4Echo(id, seq uint16, data []byte) []byte {
	b := make([]byte, header.ICMPv4MinLen+len(data))
	ic := header.ICMPv4(b)
	ic.SetType(header.ICMPv4Echo)
	ic.SetID(id)
	ic.SetSeq(seq)
	copy(b[header.ICMPv4MinLen:], data)
	ic.ComputeChecksum()
	return b
}

// fzICMPv6Sum fills in an ICMPv6 message's checksum.
func fzICMPv6Sum(src, dst netip.Addr, b []byte) []byte {
	binary.BigEndian.PutUint16(b[2:], 0)
	sum := header.Checksum(b, header.PseudoHeaderChecksum(header.ProtoICMPv6, src, dst, uint16(len(b))))
	binary.BigEndian.PutUint16(b[2:], ^sum)
	return b
}

// fzPattern is n bytes that depend on salt.
func fzPattern(n int, salt byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i) ^ salt ^ byte(i>>8)*7
	}
	return b
}

// fzSeedFrames are valid frames from a to b: the seed corpus of the
// Ethernet input target.
func fzSeedFrames() map[string][]byte {
	udp4 := fzUDP(fzA4, fzB4, 5000, 7, []byte("hello, v4"))
	udp6 := fzUDP(fzA6, fzB6, 5000, 7, []byte("hello, v6"))
	big4 := fzUDP(fzA4, fzB4, 5000, 7, fzPattern(100, 1))
	big6 := fzUDP(fzA6, fzB6, 5000, 7, fzPattern(100, 2))
	arp := make([]byte, header.ARPLen)
	header.BuildARP(arp, header.ARPRequest, fzMACA, fzA4, make(net.HardwareAddr, 6), fzB4)
	ns := make([]byte, 32)
	n := header.BuildNDPNS(ns, fzB6, fzMACA)
	snm := solicitedNode(fzB6)
	ns = fzICMPv6Sum(fzA6, snm, ns[:n])
	echo6 := make([]byte, 8+8)
	echo6[0] = header.ICMPv6EchoRequest
	copy(echo6[8:], "ping six")
	echo6 = fzICMPv6Sum(fzA6, fzB6, echo6)
	return map[string][]byte{
		"udp4":      fzEther(fzMACB, fzMACA, header.EtherTypeIPv4, fzIPv4(fzA4, fzB4, header.ProtoUDP, 1, 0, false, udp4)),
		"frag4":     fzEther(fzMACB, fzMACA, header.EtherTypeIPv4, fzIPv4(fzA4, fzB4, header.ProtoUDP, 2, 0, true, big4[:64])),
		"frag4last": fzEther(fzMACB, fzMACA, header.EtherTypeIPv4, fzIPv4(fzA4, fzB4, header.ProtoUDP, 2, 64, false, big4[64:])),
		"udp6":      fzEther(fzMACB, fzMACA, header.EtherTypeIPv6, fzIPv6(fzA6, fzB6, header.ProtoUDP, 64, udp6)),
		"frag6":     fzEther(fzMACB, fzMACA, header.EtherTypeIPv6, fzIPv6Frag(fzA6, fzB6, header.ProtoUDP, 7, 0, true, big6[:56])),
		"frag6last": fzEther(fzMACB, fzMACA, header.EtherTypeIPv6, fzIPv6Frag(fzA6, fzB6, header.ProtoUDP, 7, 56, false, big6[56:])),
		"atomic6":   fzEther(fzMACB, fzMACA, header.EtherTypeIPv6, fzIPv6Frag(fzA6, fzB6, header.ProtoUDP, 8, 0, false, udp6)),
		"arp":       fzEther(header.BroadcastMAC(), fzMACA, header.EtherTypeARP, arp),
		"ns":        fzEther(header.IPv6MulticastMAC(snm), fzMACA, header.EtherTypeIPv6, fzIPv6(fzA6, snm, header.ProtoICMPv6, 255, ns)),
		"echo4":     fzEther(fzMACB, fzMACA, header.EtherTypeIPv4, fzIPv4(fzA4, fzB4, header.ProtoICMP, 3, 0, false, fzICMPv4Echo(9, 1, []byte("ping")))),
		"echo6":     fzEther(fzMACB, fzMACA, header.EtherTypeIPv6, fzIPv6(fzA6, fzB6, header.ProtoICMPv6, 64, echo6)),
	}
}

// ---- the rig ----

// fzRig is a pair of stacks with sockets on b: UDP port 7 (IPv4 and
// IPv6), port 9 for liveness probes, and raw ICMP, ICMPv6 and protocol
// 253 sockets.
type fzRig struct {
	t      *testing.T
	a, b   *host
	c      *cable
	in     *link.Ifnet // b's end: fuzzed frames enter here
	udp    []*socket.Socket
	live4  *socket.Socket
	live6  *socket.Socket
	raw    []*socket.Socket
	probes int
}

func newFzRig(t *testing.T) *fzRig {
	a, b, c := pair(t, 1500)
	r := &fzRig{t: t, a: a, b: b, c: c, in: c.ends[1]}
	if !bytes.Equal(c.ends[0].HWAddr(), fzMACA) || !bytes.Equal(c.ends[1].HWAddr(), fzMACB) {
		t.Fatalf("cable hardware addresses %v %v", c.ends[0].HWAddr(), c.ends[1].HWAddr())
	}
	for _, x := range []struct {
		fam  int
		addr string
	}{{socket.AF_INET, "0.0.0.0:7"}, {socket.AF_INET6, "[::]:7"}} {
		so := b.socket(x.fam, socket.SOCK_DGRAM, 0)
		must(t, so.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1<<18))
		must(t, so.Bind(sa(x.addr)))
		r.udp = append(r.udp, so)
	}
	r.live4 = b.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	must(t, r.live4.Bind(sa("10.0.0.2:9")))
	r.live6 = b.socket(socket.AF_INET6, socket.SOCK_DGRAM, 0)
	must(t, r.live6.Bind(sa("[fd00::2]:9")))
	r.raw = []*socket.Socket{
		b.socket(socket.AF_INET, socket.SOCK_RAW, IPPROTO_ICMP),
		b.socket(socket.AF_INET6, socket.SOCK_RAW, IPPROTO_ICMPV6),
		b.socket(socket.AF_INET, socket.SOCK_RAW, 253),
		b.socket(socket.AF_INET6, socket.SOCK_RAW, 253),
	}
	return r
}

// inject gives frame to b's interface as a chain of two mbufs cut at
// split (one mbuf when split is out of range), as a driver would.
func (r *fzRig) inject(frame []byte, split int) {
	pool := r.b.s.pool
	var m *mbuf.Mbuf
	if split <= 0 || split >= len(frame) {
		m = pool.CopyIn(mbuf.MT_DATA, frame, 0)
	} else {
		m = pool.CopyIn(mbuf.MT_DATA, frame[:split], 0)
		tail := pool.CopyIn(mbuf.MT_DATA, frame[split:], 0)
		tail.Flags &^= mbuf.M_PKTHDR
		tail.PktLen = 0
		mbuf.Cat(m, tail)
		m.PktLen = len(frame)
	}
	r.in.Input(m)
}

// drain reads every datagram queued on so.
func fzDrain(t *testing.T, so *socket.Socket, f func(data []byte, from socket.Sockaddr)) {
	for range 10000 {
		data, from, err := recvfrom(so, 70000, socket.MSG_DONTWAIT)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return
		}
		if err != nil {
			// An unconnected socket has no error to report.
			t.Fatalf("receive: %v", err)
		}
		if f != nil {
			f(data, from)
		}
	}
	t.Fatal("a socket never runs dry")
}

// alive checks that b still answers: a's datagrams (a fragmented one
// too) reach b's port 9 over IPv4 and IPv6, byte for byte.
func (r *fzRig) alive() {
	t := r.t
	t.Helper()
	r.probes++
	for _, x := range []struct {
		so  *socket.Socket
		fam int
		dst string
	}{{r.live4, socket.AF_INET, "10.0.0.2:9"}, {r.live6, socket.AF_INET6, "[fd00::2]:9"}} {
		fzDrain(t, x.so, nil)
		s := r.a.socket(x.fam, socket.SOCK_DGRAM, 0)
		must(t, s.SetOptInt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1<<16))
		for _, n := range []int{16, 3000} {
			msg := fzPattern(n, byte(r.probes))
			copy(msg, fmt.Sprintf("probe %d", r.probes))
			if err := sendto(s, msg, sa(x.dst)); err != nil {
				t.Fatalf("liveness probe to %s: %v", x.dst, err)
			}
			got, _, err := recvfrom(x.so, 70000, socket.MSG_DONTWAIT)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("liveness: %s got %d bytes of %d: %v", x.dst, len(got), n, err)
			}
		}
		s.Close()
	}
}

// fzCounters are the counters whose relations must hold.
type fzCounters struct {
	ipackets, iqdrops, ierrors uint64
	arp, ip4, ip6              uint64
}

func (r *fzRig) counters() fzCounters {
	st, ifs := &r.b.s.Stats, &r.in.Stats
	return fzCounters{
		ipackets: ifs.Ipackets.Load(), iqdrops: ifs.Iqdrops.Load(), ierrors: ifs.Ierrors.Load(),
		arp: st.ARP.Received.Load(), ip4: st.IP.Total.Load(), ip6: st.IP6.Total.Load(),
	}
}

// checkCounters checks the relations between b's counters, and that the
// frame injected since before was counted and then accounted for.
func (r *fzRig) checkCounters(before fzCounters) {
	t := r.t
	t.Helper()
	after := r.counters()
	// The frame, and any the peer sent back while b handled it (an NA
	// answering the NS for an ICMP error's destination), went to ARP, IPv4
	// or IPv6, or were dropped and counted. (lo0's packets count in the IP
	// totals too, hence at least.)
	got := after.ipackets - before.ipackets
	handled := after.arp + after.ip4 + after.ip6 + after.iqdrops + after.ierrors -
		(before.arp + before.ip4 + before.ip6 + before.iqdrops + before.ierrors)
	if got == 0 || handled < got {
		t.Errorf("%d frames received, %d accounted for: %+v -> %+v", got, handled, before, after)
	}
	st := &r.b.s.Stats
	for _, x := range []struct {
		name string
		s    *IPStats
	}{{"ip", &st.IP}, {"ip6", &st.IP6}} {
		s := x.s
		if s.Delivered.Load() > s.Total.Load()+s.Reassembled.Load() {
			t.Errorf("%s: delivered %d of %d received (%d reassembled)", x.name, s.Delivered.Load(), s.Total.Load(), s.Reassembled.Load())
		}
		if s.Reassembled.Load() > s.Fragments.Load() {
			t.Errorf("%s: reassembled %d from %d fragments", x.name, s.Reassembled.Load(), s.Fragments.Load())
		}
	}
	if u := st.UDP.IPackets.Load(); u > st.IP.Delivered.Load()+st.IP6.Delivered.Load() {
		t.Errorf("UDP received %d of %d delivered", u, st.IP.Delivered.Load()+st.IP6.Delivered.Load())
	}
	if e := st.ICMP.InEcho.Load() + st.ICMP.InErrors.Load(); e > st.IP.Delivered.Load() {
		t.Errorf("ICMP received %d of %d IPv4 delivered", e, st.IP.Delivered.Load())
	}
	if e := st.ICMP6.InEcho.Load() + st.ICMP6.InErrors.Load(); e > st.IP6.Delivered.Load() {
		t.Errorf("ICMPv6 received %d of %d IPv6 delivered", e, st.IP6.Delivered.Load())
	}
	r.checkReassembly(&r.b.s.frag4)
	r.checkReassembly(&r.b.s.frag6)
}

// checkReassembly checks a family's reassembly queues against their
// limits and their own bookkeeping.
func (r *fzRig) checkReassembly(re *reassembly) {
	t := r.t
	t.Helper()
	re.mu.Lock()
	defer re.mu.Unlock()
	tun := &r.b.s.Tunables
	if len(re.queues) > tun.MaxFragPackets {
		t.Errorf("%d packets in reassembly, limit %d", len(re.queues), tun.MaxFragPackets)
	}
	total := 0
	for k, q := range re.queues {
		if q.key != k {
			t.Errorf("queue filed under %v has key %v", k, q.key)
		}
		if len(q.pieces) > tun.MaxFragsPerPacket {
			t.Errorf("%d fragments held for one packet, limit %d", len(q.pieces), tun.MaxFragsPerPacket)
		}
		n, end := 0, -1
		for _, p := range q.pieces {
			if p.off < end || p.end <= p.off && !(p.end == p.off && p.off == q.total) {
				t.Errorf("fragments out of order or overlapping: %+v", q.pieces)
			}
			if got := mbuf.Length(p.m); got != p.end-p.off {
				t.Errorf("fragment [%d, %d) holds %d bytes", p.off, p.end, got)
			}
			if q.total >= 0 && p.end > q.total {
				t.Errorf("fragment [%d, %d) past the end %d", p.off, p.end, q.total)
			}
			end = p.end
			n += p.end - p.off
		}
		if n != q.bytes {
			t.Errorf("queue counts %d bytes, holds %d", q.bytes, n)
		}
		total += q.bytes
	}
	if total != re.bytes || re.bytes > fragMaxBytes {
		t.Errorf("reassembly counts %d bytes, queues hold %d (limit %d)", re.bytes, total, fragMaxBytes)
	}
}

// expireAll lets every reassembly queue time out and checks that they are
// gone, with their bytes.
func (r *fzRig) expireAll() {
	t := r.t
	t.Helper()
	time.Sleep(fragTimeout + time.Second)
	synctest.Wait()
	if v4, v6 := r.b.s.Pending(); v4+v6 != 0 {
		t.Errorf("reassembly queues left after the timeout: %d %d", v4, v6)
	}
	for _, re := range []*reassembly{&r.b.s.frag4, &r.b.s.frag6} {
		re.mu.Lock()
		if re.bytes != 0 {
			t.Errorf("reassembly counts %d bytes with no queue", re.bytes)
		}
		re.mu.Unlock()
	}
}

// drainAll empties b's sockets, checking what UDP port 7 received with f.
func (r *fzRig) drainAll(f func(data []byte, from socket.Sockaddr)) {
	for _, so := range r.udp {
		fzDrain(r.t, so, f)
	}
	for _, so := range r.raw {
		fzDrain(r.t, so, nil)
	}
}

// ---- FuzzEtherInput ----

// FuzzEtherInput gives b an arbitrary frame on its Ethernet interface.
// flags: bit 0 turns checksum verification off on b's interface (as on an
// in-process link), so that damaged packets reach deeper.
func FuzzEtherInput(f *testing.F) {
	for _, fr := range fzSeedFrames() {
		f.Add(fr, uint16(0), uint8(0))
		f.Add(fr, uint16(17), uint8(1)) // cut inside the IP header
	}
	f.Add([]byte{}, uint16(0), uint8(0))
	f.Add(make([]byte, 13), uint16(0), uint8(0))
	f.Fuzz(func(t *testing.T, frame []byte, split uint16, flags uint8) {
		if len(frame) > 9000 {
			return
		}
		synctest.Test(t, func(t *testing.T) {
			r := newFzRig(t)
			r.alive()
			if flags&1 != 0 {
				r.in.Checksum.Store(false)
			}
			before := r.counters()
			r.inject(frame, int(split))
			r.checkCounters(before)
			r.drainAll(nil)
			r.in.Checksum.Store(true)
			r.alive()
			// Whatever the frame started (resolution, reassembly) ends in
			// time, and b still answers after.
			r.expireAll()
			r.alive()
		})
	})
}

// TestFuzzSeedsDelivered checks that the seed frames are valid: each
// reaches what it is for.
func TestFuzzSeedsDelivered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newFzRig(t)
		fr := fzSeedFrames()
		for _, name := range []string{"udp4", "frag4", "frag4last", "udp6", "frag6", "frag6last", "atomic6"} {
			r.inject(fr[name], 0)
		}
		var got []string
		for _, so := range r.udp {
			fzDrain(t, so, func(data []byte, _ socket.Sockaddr) { got = append(got, fmt.Sprintf("%d", len(data))) })
		}
		r.drainAll(nil)
		// udp4, the two-fragment v4 datagram, udp6, the v6 one, the atomic fragment.
		if want := "9 100 9 100 9"; fmt.Sprint(got) != "["+want+"]" {
			t.Errorf("port 7 received datagrams of %v bytes, want [%s]", got, want)
		}
		st := &r.b.s.Stats
		before := st.ARP.RxRequests.Load()
		r.inject(fr["arp"], 0)
		if st.ARP.RxRequests.Load() != before+1 || st.ARP.TxReplies.Load() == 0 {
			t.Errorf("ARP request not answered")
		}
		before = st.ND.RxRequests.Load()
		txr := st.ND.TxReplies.Load()
		r.inject(fr["ns"], 0)
		if st.ND.RxRequests.Load() != before+1 || st.ND.TxReplies.Load() != txr+1 {
			t.Errorf("neighbor solicitation not answered")
		}
		r.inject(fr["echo4"], 0)
		r.inject(fr["echo6"], 0)
		if st.ICMP.Reflect.Load() != 1 || st.ICMP6.Reflect.Load() != 1 {
			t.Errorf("echo replies: %d %d", st.ICMP.Reflect.Load(), st.ICMP6.Reflect.Load())
		}
	})
}

// ---- fragment sequences ----

// fzFrag is one crafted fragment, decoded from 6 bytes of fuzz input:
//
//	b0: bits 0-1 packet (which of four originals), bit 2 MF, bit 3 a
//	    second source address, bit 4 another protocol, bit 5 wait 10 s
//	    before this fragment, bit 6 length not rounded to 8, bit 7 a
//	    different destination (not ours)
//	b1-b2: offset in 8-byte units (13 bits)
//	b3-b4: length in bytes (12 bits)
//	b5: bits 0-6 hop limit / TTL, 0 meaning 64; bit 7 IPv4 options (4
//	    bytes of NOP) in the header
type fzFrag struct {
	pkt      int
	more     bool
	altSrc   bool
	altProto bool
	wait     bool
	oddLen   bool
	notOurs  bool
	off, n   int
	ttl      uint8
	opts     bool
}

func fzFrags(ops []byte) []fzFrag {
	var out []fzFrag
	for len(ops) >= 6 && len(out) < 100 {
		b := ops[:6]
		ops = ops[6:]
		f := fzFrag{
			pkt: int(b[0] & 3), more: b[0]&4 != 0, altSrc: b[0]&8 != 0, altProto: b[0]&16 != 0,
			wait: b[0]&32 != 0, oddLen: b[0]&64 != 0, notOurs: b[0]&128 != 0,
			off: int(binary.BigEndian.Uint16(b[1:])&0x1fff) * 8, n: int(binary.BigEndian.Uint16(b[3:]) & 0xfff),
			ttl: b[5] & 0x7f, opts: b[5]&0x80 != 0,
		}
		if !f.oddLen {
			f.n &^= 7
		}
		if f.ttl == 0 {
			f.ttl = 64
		}
		out = append(out, f)
	}
	return out
}

// fzOriginal is the UDP datagram (header and data, checksummed for src and
// dst) that packet k's fragments are cut from, followed by filler up to
// 64 KiB for fragments that reach past its end.
func fzOriginal(k int, src, dst netip.Addr) (whole []byte, data []byte) {
	n := []int{40, 1200, 3000, 9000}[k]
	data = fzPattern(n, byte(0x40+k))
	whole = append(fzUDP(src, dst, 6000+uint16(k), 7, data), fzPattern(70000, byte(k))...)
	return whole, data
}

// fzSeqSeeds are fragment sequences for the reassembly targets' corpora.
func fzSeqSeeds() [][]byte {
	op := func(b0 byte, off8, n int, ttl byte) []byte {
		return []byte{b0, byte(off8 >> 8), byte(off8), byte(n >> 8), byte(n), ttl}
	}
	cat := func(ops ...[]byte) []byte { return bytes.Join(ops, nil) }
	return [][]byte{
		// Packet 1 (1208 bytes) in two fragments, in order and reversed.
		cat(op(1|4, 0, 600, 0), op(1, 75, 608, 0)),
		cat(op(1, 75, 608, 0), op(1|4, 0, 600, 0)),
		// Packet 2 (3008 bytes) in three, with an overlap first.
		cat(op(2|4, 0, 1000, 0), op(2|4, 100, 1200, 0), op(2|4, 0, 1000, 0), op(2|4, 125, 1000, 0), op(2, 250, 1008, 0)),
		// Packet 0 (48 bytes) whole in one "fragment", then a duplicate.
		cat(op(0, 0, 48, 0), op(0, 0, 48, 0)),
		// A first fragment that times out, then the packet again.
		cat(op(3|4, 0, 1000, 0), op(3|32, 0, 8, 0), op(1|4, 0, 600, 0), op(1, 75, 608, 0)),
		// Too many fragments for one packet.
		cat(op(3|4, 0, 8, 0), op(3|4, 1, 8, 0), op(3|4, 2, 8, 0), op(3|4, 3, 8, 0), op(3|4, 4, 8, 0),
			op(3|4, 5, 8, 0), op(3|4, 6, 8, 0), op(3|4, 7, 8, 0), op(3|4, 8, 8, 0), op(3|4, 9, 8, 0),
			op(3|4, 10, 8, 0), op(3|4, 11, 8, 0), op(3|4, 12, 8, 0), op(3|4, 13, 8, 0), op(3|4, 14, 8, 0),
			op(3|4, 15, 8, 0), op(3|4, 16, 8, 0), op(3, 17, 8, 0)),
		// A first fragment with options (a longer header), the last without,
		// in both orders.
		cat(op(1|4, 0, 600, 0x80), op(1, 75, 608, 0)),
		cat(op(1, 75, 608, 0), op(1|4, 0, 600, 0x80)),
		// An odd-length middle fragment, one past 64 KiB, one not ours.
		cat(op(1|4|64, 0, 601, 0), op(1|4, 8190, 4000, 0), op(1|128, 75, 608, 0)),
	}
}

// runFragSeq sends the fragments ops describes from a's addresses to b,
// over IPv4 or IPv6, and checks that nothing but the originals is ever
// delivered, that the queues keep to their limits, and that b still
// answers.
func runFragSeq(t *testing.T, v6 bool, ops []byte) {
	r := newFzRig(t)
	src, alt, dst, other := fzA4, netip.MustParseAddr("10.0.0.3"), fzB4, netip.MustParseAddr("10.0.0.77")
	if v6 {
		src, alt, dst, other = fzA6, netip.MustParseAddr("fd00::3"), fzB6, netip.MustParseAddr("fd00::77")
	}
	// Prime b's neighbor cache so that its errors need no resolution.
	r.alive()
	want := make(map[string]bool) // the data of every original, by source
	for k := range 4 {
		for _, s := range []netip.Addr{src, alt} {
			_, data := fzOriginal(k, s, dst)
			want[s.String()+"|"+string(data)] = true
		}
	}
	check := func(data []byte, from socket.Sockaddr) {
		var a netip.Addr
		switch x := from.(type) {
		case socket.SockaddrInet4:
			a = x.AddrPort().Addr()
		case socket.SockaddrInet6:
			a = x.AddrPort().Addr().Unmap()
		}
		if !want[a.String()+"|"+string(data)] {
			t.Fatalf("delivered %d bytes from %v that no original holds", len(data), a)
		}
	}
	for _, f := range fzFrags(ops) {
		if f.wait {
			time.Sleep(10 * time.Second)
			synctest.Wait()
		}
		s, d := src, dst
		if f.altSrc {
			s = alt
		}
		if f.notOurs {
			d = other
		}
		whole, _ := fzOriginal(f.pkt, s, dst)
		piece := whole[min(f.off, len(whole)):min(f.off+f.n, len(whole))]
		proto := uint8(header.ProtoUDP)
		if f.altProto {
			proto = 253
		}
		var frame []byte
		if v6 {
			p := fzIPv6Frag(s, d, proto, 0x5000+uint32(f.pkt), f.off, f.more, piece)
			header.IPv6(p).SetHopLimit(f.ttl)
			frame = fzEther(fzMACB, fzMACA, header.EtherTypeIPv6, p)
		} else {
			var opts []byte
			if f.opts {
				opts = []byte{1, 1, 1, 1} // NOP: not copied into later fragments, so their headers are shorter
			}
			p := fzIPv4Opts(s, d, proto, 0x5000+uint16(f.pkt), f.off, f.more, opts, piece)
			h := header.IPv4(p)
			h.SetTTL(f.ttl)
			h.ComputeChecksum()
			frame = fzEther(fzMACB, fzMACA, header.EtherTypeIPv4, p)
		}
		before := r.counters()
		r.inject(frame, 14+int(f.ttl)%64)
		r.checkCounters(before)
		r.drainAll(check)
	}
	r.alive()
	r.expireAll()
	r.drainAll(check)
	r.alive()
}

// FuzzIPv4Reassembly sends b sequences of crafted IPv4 fragments.
func FuzzIPv4Reassembly(f *testing.F) {
	for _, s := range fzSeqSeeds() {
		f.Add(s)
	}
	// Found by fuzzing: a last fragment that ends before a piece already
	// held (the queue must be dropped, not kept inconsistent).
	f.Add([]byte("\xef\xff\x00\x03\xe8C\x0600000000000000000BA0000"))
	f.Fuzz(func(t *testing.T, ops []byte) {
		synctest.Test(t, func(t *testing.T) { runFragSeq(t, false, ops) })
	})
}

// FuzzIPv6Input sends b sequences of crafted IPv6 fragments, then one
// IPv6 packet with an arbitrary payload after the fixed header: next
// header raw[0], destination chosen by raw[1] (ours, all-nodes, a
// link-local of ours), the rest as the payload, with checksums unverified
// when raw[1]&0x80 is set.
func FuzzIPv6Input(f *testing.F) {
	seeds := fzSeqSeeds()
	// Payloads after the fixed header: extension headers and ND.
	hbh := []byte{header.ProtoUDP, 0, 1, 4, 0, 0, 0, 0} // Hop-by-Hop with PadN
	udp := fzUDP(fzA6, fzB6, 5000, 7, []byte("through options"))
	snm := solicitedNode(fzB6)
	ns := make([]byte, 32)
	ns = fzICMPv6Sum(fzA6, snm, ns[:header.BuildNDPNS(ns, fzB6, fzMACA)])
	raws := [][]byte{
		append([]byte{header.ProtoIPv6Hop, 0}, append(hbh, udp...)...),
		append([]byte{header.ProtoIPv6Dst, 0x80}, append([]byte{header.ProtoUDP, 0, 0xc2, 4, 0, 0, 0, 0}, udp...)...),
		append([]byte{header.ProtoIPv6Route, 0x80}, append([]byte{header.ProtoUDP, 0, 0, 1, 0, 0, 0, 0}, udp...)...),
		append([]byte{header.ProtoICMPv6, 3}, ns...),
		{header.ProtoIPv6Frag, 0x80, header.ProtoIPv6Frag, 0, 0, 0, 0, 0, 0, 1, header.ProtoUDP, 0, 0, 0, 0, 0, 0, 2},
		{59, 0},
	}
	for i, s := range seeds {
		f.Add(s, raws[i%len(raws)])
	}
	// Found by fuzzing: waits let b's neighbor entry go stale, so its ICMP
	// error sends an NS and a's NA comes back during the injection.
	f.Add([]byte("& 01\xe81B 071\x00& \x00000 10800\x000070\x00"), []byte("0$0000"))
	f.Fuzz(func(t *testing.T, ops, raw []byte) {
		if len(raw) > 9000 {
			return
		}
		synctest.Test(t, func(t *testing.T) {
			runFragSeq(t, true, ops)
			if len(raw) < 2 {
				return
			}
			r := newFzRig(t)
			r.alive()
			dst, mac := fzB6, fzMACB
			switch raw[1] & 3 {
			case 1:
				dst = netip.MustParseAddr("ff02::1")
				mac = header.IPv6MulticastMAC(dst)
			case 2:
				dst = linkLocal(fzMACB)
			case 3:
				dst = solicitedNode(fzB6)
				mac = header.IPv6MulticastMAC(dst)
			}
			srcs := []netip.Addr{fzA6, linkLocal(fzMACA), netip.IPv6Unspecified(), fzB6}
			src := srcs[raw[1]>>2&3]
			if raw[1]&0x80 != 0 {
				r.in.Checksum.Store(false)
			}
			p := fzIPv6(src, dst, raw[0], 255, raw[2:])
			if raw[1]&0x40 != 0 {
				header.IPv6(p).SetHopLimit(1)
			}
			before := r.counters()
			r.inject(fzEther(mac, fzMACA, header.EtherTypeIPv6, p), 54)
			r.checkCounters(before)
			r.drainAll(nil)
			r.in.Checksum.Store(true)
			r.alive()
			r.expireAll()
			r.alive()
		})
	})
}

// TestReassemblyHeaderLength sends a datagram in two IPv4 fragments whose
// headers differ in length, as when the first carries an option that is
// not copied into the others: the reassembled packet's header is the first
// fragment's, and the payload must be found after it, whichever fragment
// came last, with checksums verified or not.
func TestReassemblyHeaderLength(t *testing.T) {
	for _, csum := range []bool{true, false} {
		for _, firstLast := range []bool{false, true} {
			t.Run(fmt.Sprintf("checksums=%v/firstlast=%v", csum, firstLast), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					r := newFzRig(t)
					r.in.Checksum.Store(csum)
					whole, data := fzOriginal(1, fzA4, fzB4)
					first := fzIPv4Opts(fzA4, fzB4, header.ProtoUDP, 77, 0, true, []byte{1, 1, 1, 1}, whole[:600])
					last := fzIPv4(fzA4, fzB4, header.ProtoUDP, 77, 600, false, whole[600:header.UDPLen+len(data)])
					frames := [][]byte{first, last}
					if firstLast {
						frames = [][]byte{last, first}
					}
					for _, p := range frames {
						r.inject(fzEther(fzMACB, fzMACA, header.EtherTypeIPv4, p), 0)
					}
					got, _, err := recvfrom(r.udp[0], 70000, socket.MSG_DONTWAIT)
					if err != nil || !bytes.Equal(got, data) {
						t.Errorf("received %d bytes, want %d: %v (UDP bad sums %d, bad lengths %d, no port %d)",
							len(got), len(data), err, r.b.s.Stats.UDP.BadSum.Load(), r.b.s.Stats.UDP.BadLen.Load(), r.b.s.Stats.UDP.NoPort.Load())
					}
				})
			})
		}
	}
}
