package inet

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"syscall"
	"testing"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

func recvmsg(so *socket.Socket, n int) ([]byte, socket.Sockaddr, []socket.Cmsg, error) {
	b := make([]byte, n)
	u := socket.UioBuf(b)
	var from socket.Sockaddr
	var ctl *mbuf.Mbuf
	f := socket.MSG_DONTWAIT
	err := so.Receive(bg, &from, &u, nil, &ctl, &f)
	msgs, _ := socket.ControlMessages(ctl)
	mbuf.FreeChain(ctl)
	return b[:n-u.Resid], from, msgs, err
}

func TestReceiveControlMessages(t *testing.T) {
	a, b, _ := pair(t, 1500)
	r := b.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	must(t, r.Bind(sa("0.0.0.0:9000")))
	must(t, r.SetOptInt(IPPROTO_IP, IP_RECVDSTADDR, 1))
	must(t, r.SetOptInt(IPPROTO_IP, IP_RECVIF, 1))
	must(t, r.SetOptInt(IPPROTO_IP, IP_RECVTTL, 1))
	s := a.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	must(t, sendto(s, []byte("x"), sa("10.0.0.2:9000")))
	_, _, msgs, err := recvmsg(r, 10)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int][]byte{}
	for _, m := range msgs {
		if m.Level != IPPROTO_IP {
			t.Errorf("level %d", m.Level)
		}
		seen[m.Type] = m.Data
	}
	if d := seen[IP_RECVDSTADDR]; netip.AddrFrom4([4]byte(d)) != netip.MustParseAddr("10.0.0.2") {
		t.Errorf("IP_RECVDSTADDR %v", d)
	}
	if d := seen[IP_RECVTTL]; len(d) != 1 || d[0] != 64 {
		t.Errorf("IP_RECVTTL %v", d)
	}
	if d := seen[IP_RECVIF]; len(d) < 8 || d[1] != 18 || int(binary.NativeEndian.Uint16(d[2:])) != b.if0.Index() {
		t.Errorf("IP_RECVIF %v", d)
	}

	r6 := b.socket(socket.AF_INET6, socket.SOCK_DGRAM, 0)
	must(t, r6.Bind(sa("[::]:9000")))
	must(t, r6.SetOptInt(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1))
	s6 := a.socket(socket.AF_INET6, socket.SOCK_DGRAM, 0)
	must(t, sendto(s6, []byte("y"), sa("[fd00::2]:9000")))
	_, _, msgs, err = recvmsg(r6, 10)
	if err != nil || len(msgs) != 1 || msgs[0].Type != IPV6_PKTINFO || len(msgs[0].Data) != 20 {
		t.Fatalf("IPV6_PKTINFO: %+v %v", msgs, err)
	}
	if a := netip.AddrFrom16([16]byte(msgs[0].Data[:16])); a != netip.MustParseAddr("fd00::2") {
		t.Errorf("pktinfo address %v", a)
	}
	if idx := binary.NativeEndian.Uint32(msgs[0].Data[16:]); int(idx) != b.if0.Index() {
		t.Errorf("pktinfo index %d", idx)
	}
}

func TestUDPSendErrors(t *testing.T) {
	a, b, _ := pair(t, 1500)
	srv := b.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	must(t, srv.Bind(sa("0.0.0.0:7")))
	s := a.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	// A datagram larger than the send buffer (net.inet.udp.maxdgram).
	if err := sendto(s, make([]byte, 10000), sa("10.0.0.2:7")); !errors.Is(err, syscall.EMSGSIZE) {
		t.Errorf("oversized datagram: %v, want EMSGSIZE", err)
	}
	// Broadcast needs SO_BROADCAST.
	if err := sendto(s, []byte("b"), sa("10.0.0.255:7")); !errors.Is(err, syscall.EACCES) {
		t.Errorf("broadcast without SO_BROADCAST: %v, want EACCES", err)
	}
	must(t, s.SetOptInt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1))
	must(t, sendto(s, []byte("b"), sa("10.0.0.255:7")))
	if got, _, err := recvfrom(srv, 10, socket.MSG_DONTWAIT); err != nil || string(got) != "b" {
		t.Errorf("broadcast not received: %q %v", got, err)
	}
	// Connected: sendto is EISCONN; AF_UNSPEC dissolves the association.
	must(t, s.Connect(sa("10.0.0.2:7")))
	if err := sendto(s, []byte("x"), sa("10.0.0.2:7")); !errors.Is(err, syscall.EISCONN) {
		t.Errorf("sendto on a connected socket: %v, want EISCONN", err)
	}
	must(t, s.Connect(socket.SockaddrUnspec{}))
	if _, err := s.Peeraddr(); !errors.Is(err, syscall.ENOTCONN) {
		t.Errorf("after AF_UNSPEC connect, getpeername: %v, want ENOTCONN", err)
	}
	must(t, sendto(s, []byte("again"), sa("10.0.0.2:7")))
	// Port 0 is not a destination; no route is unreachable.
	if err := sendto(s, []byte("x"), sa("10.0.0.2:0")); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Errorf("port 0: %v, want EADDRNOTAVAIL", err)
	}
	if err := sendto(s, []byte("x"), sa("192.0.2.1:7")); !errors.Is(err, syscall.EHOSTUNREACH) {
		t.Errorf("no route: %v, want EHOSTUNREACH", err)
	}
	c := a.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
	if err := c.Connect(sa("192.0.2.1:7")); !errors.Is(err, syscall.ENETUNREACH) {
		t.Errorf("connect with no route: %v, want ENETUNREACH", err)
	}
}

func TestRawHeaderIncluded(t *testing.T) {
	a, b, _ := pair(t, 1500)
	r := b.socket(socket.AF_INET, socket.SOCK_RAW, 253)
	w := a.socket(socket.AF_INET, socket.SOCK_RAW, 253)
	must(t, w.SetOptInt(IPPROTO_IP, IP_HDRINCL, 1))
	pkt := make([]byte, header.IPv4MinLen+5)
	header.IPv4Fields{TotalLen: len(pkt), TTL: 9, Protocol: 253,
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}.Encode(pkt)
	copy(pkt[header.IPv4MinLen:], "hello")
	must(t, sendto(w, pkt, sa("10.0.0.2:0")))
	got, _, err := recvfrom(r, 100, socket.MSG_DONTWAIT)
	if err != nil {
		t.Fatal(err)
	}
	h := header.IPv4(got)
	if h.TTL() != 9 || h.ID() == 0 || string(h.Payload()) != "hello" || !h.ChecksumValid() {
		t.Errorf("received %x", got)
	}
	// A header whose length disagrees with the data is EINVAL.
	header.IPv4(pkt).SetTotalLen(100)
	if err := sendto(w, pkt, sa("10.0.0.2:0")); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("bad ip_len: %v, want EINVAL", err)
	}
}

func TestMulticastIPv6(t *testing.T) {
	a, b, _ := pair(t, 1500)
	g := netip.MustParseAddr("ff15::1234")
	var members []*socket.Socket
	for i := 0; i < 2; i++ {
		m := b.socket(socket.AF_INET6, socket.SOCK_DGRAM, 0)
		must(t, m.SetOptInt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1))
		must(t, m.Bind(sa("[::]:5353")))
		mreq := make([]byte, 20)
		copy(mreq, g.AsSlice())
		binary.NativeEndian.PutUint32(mreq[16:], uint32(b.if0.Index()))
		must(t, m.SetOpt(&socket.Sockopt{Level: IPPROTO_IPV6, Name: IPV6_JOIN_GROUP, Val: mreq, Valsize: len(mreq)}))
		members = append(members, m)
	}
	// A socket that did not join hears nothing.
	outsider := b.socket(socket.AF_INET6, socket.SOCK_DGRAM, 0)
	must(t, outsider.SetOptInt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1))
	must(t, outsider.Bind(sa("[::]:5353")))
	s := a.socket(socket.AF_INET6, socket.SOCK_DGRAM, 0)
	must(t, s.SetOptInt(IPPROTO_IPV6, IPV6_MULTICAST_IF, a.if0.Index()))
	must(t, sendto(s, []byte("v6 group"), sa("[ff15::1234]:5353")))
	for i, m := range members {
		got, _, err := recvfrom(m, 100, socket.MSG_DONTWAIT)
		if err != nil || string(got) != "v6 group" {
			t.Errorf("member %d: %q %v", i, got, err)
		}
	}
	if _, _, err := recvfrom(outsider, 100, socket.MSG_DONTWAIT); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Errorf("non-member received: %v", err)
	}
	// Leaving twice: EADDRNOTAVAIL the second time.
	mreq := make([]byte, 20)
	copy(mreq, g.AsSlice())
	binary.NativeEndian.PutUint32(mreq[16:], uint32(b.if0.Index()))
	leave := &socket.Sockopt{Level: IPPROTO_IPV6, Name: IPV6_LEAVE_GROUP, Val: mreq, Valsize: len(mreq)}
	must(t, members[0].SetOpt(leave))
	if err := members[0].SetOpt(leave); !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Errorf("second leave: %v, want EADDRNOTAVAIL", err)
	}
}
