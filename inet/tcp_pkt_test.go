package inet

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"sync"
	"syscall"
	"testing"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// sniffer records the TCP headers crossing a cable, by direction.
type sniffer struct {
	mu   sync.Mutex
	segs [2][]header.TCP
	deaf bool // drop what end 0 sends (after recording it)
}

func (sn *sniffer) hook(from int, frame []byte) bool {
	if len(frame) < 34 || frame[12] != 0x08 || frame[13] != 0x00 || frame[23] != header.ProtoTCP {
		return true
	}
	hl := int(frame[14]&0xf) * 4
	sn.mu.Lock()
	sn.segs[from] = append(sn.segs[from], header.TCP(append([]byte(nil), frame[14+hl:]...)))
	sn.mu.Unlock()
	return !sn.deaf || from != 0
}

func (sn *sniffer) last(from int) header.TCP {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	l := sn.segs[from]
	if len(l) == 0 {
		return nil
	}
	return l[len(l)-1]
}

func (sn *sniffer) count(from int) int {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	return len(sn.segs[from])
}

// inject delivers a crafted IPv4 TCP segment from end 1's host (10.0.0.2)
// to end 0's (10.0.0.1).
func inject(c *cable, sport, dport uint16, seq, ack uint32, flags uint8, win uint16, payload []byte) {
	injectOpts(c, sport, dport, seq, ack, flags, win, nil, payload)
}

func injectOpts(c *cable, sport, dport uint16, seq, ack uint32, flags uint8, win uint16, opts, payload []byte) {
	const ipl = header.IPv4MinLen
	hl := header.TCPMinLen + len(opts)
	tl := hl + len(payload)
	b := make([]byte, header.EthernetLen+ipl+tl)
	e := header.Ethernet(b)
	e.SetDst(c.ends[0].HWAddr())
	e.SetSrc(c.ends[1].HWAddr())
	e.SetType(header.EtherTypeIPv4)
	src, dst := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1")
	header.IPv4Fields{TotalLen: ipl + tl, TTL: 64, Protocol: header.ProtoTCP, Src: src, Dst: dst}.Encode(b[header.EthernetLen:])
	th := header.TCP(b[header.EthernetLen+ipl:])
	th.SetSrcPort(sport)
	th.SetDstPort(dport)
	th.SetSeq(seq)
	th.SetAck(ack)
	th.SetDataOffset(hl)
	th.SetFlags(flags)
	th.SetWindow(win)
	copy(th[header.TCPMinLen:], opts)
	copy(th.Payload(), payload)
	th.ComputeChecksum(src, dst, tl, header.Checksum(payload, 0))
	c.ends[0].Input(c.ends[0].Pool.CopyIn(mbuf.MT_DATA, b, 0))
}

func TestTCPRFC5961(t *testing.T) {
	a, b, c := pair(t, 1500)
	cli, _ := tcpConn(t, a, b, "10.0.0.2:80")
	sn := &sniffer{deaf: true}
	c.setHook(sn.hook)
	write(cli, []byte("x"), 0)
	seg := sn.last(0) // the client's data segment
	if seg == nil {
		t.Fatal("nothing sent")
	}
	cport := seg.SrcPort()
	rcvNxt := seg.Ack()
	sndNxt := seg.Seq() + 1
	st := &a.s.Stats.TCP

	// A RST in the window but not at rcv_nxt: challenge ACK, no reset.
	n0 := sn.count(0)
	inject(c, 80, cport, rcvNxt+100, 0, header.TCPFlagRst, 0, nil)
	if st.ChallengeAck.Load() != 1 || sn.count(0) != n0+1 {
		t.Fatalf("challenge acks %d, segments %d", st.ChallengeAck.Load(), sn.count(0)-n0)
	}
	if ca := sn.last(0); ca.Flags() != header.TCPFlagAck || ca.Ack() != rcvNxt || ca.Seq() != sndNxt {
		t.Fatalf("challenge ACK %v", ca)
	}
	// Outside the window: ignored.
	inject(c, 80, cport, rcvNxt-1000000, 0, header.TCPFlagRst, 0, nil)
	if st.RcvBadRst.Load() != 1 || sn.count(0) != n0+1 {
		t.Fatalf("bad rsts %d", st.RcvBadRst.Load())
	}
	// A SYN on an established connection: challenge ACK.
	inject(c, 80, cport, rcvNxt+5, 0, header.TCPFlagSyn, 1000, nil)
	if st.ChallengeAck.Load() != 2 {
		t.Fatalf("challenge acks %d after SYN", st.ChallengeAck.Load())
	}
	// An ACK for data never sent: challenge ACK, dropped.
	inject(c, 80, cport, rcvNxt, sndNxt+100000, header.TCPFlagAck, 1000, []byte("bad"))
	if st.ChallengeAck.Load() != 3 {
		t.Fatalf("challenge acks %d after bad ACK", st.ChallengeAck.Load())
	}
	buf := make([]byte, 10)
	if _, err := read(cli, buf, socket.MSG_DONTWAIT); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("data of the bad ACK was taken: %v", err)
	}
	// Data out of order, then the hole: both delivered, in order.
	inject(c, 80, cport, rcvNxt+3, sndNxt, header.TCPFlagAck, 1000, []byte("def"))
	if ack := sn.last(0); ack.Ack() != rcvNxt {
		t.Fatalf("dup ACK for out-of-order data acks %d, want %d", ack.Ack(), rcvNxt)
	}
	inject(c, 80, cport, rcvNxt, sndNxt, header.TCPFlagAck, 1000, []byte("abc"))
	n, err := read(cli, buf, socket.MSG_DONTWAIT)
	if err != nil || string(buf[:n]) != "abcdef" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
	rcvNxt += 6
	// A RST at rcv_nxt resets.
	inject(c, 80, cport, rcvNxt, 0, header.TCPFlagRst, 0, nil)
	if _, err := read(cli, buf, 0); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after RST: %v", err)
	}
}

func TestTCPClosedPortRST(t *testing.T) {
	a, _, c := pair(t, 1500)
	sn := &sniffer{}
	c.setHook(sn.hook)
	// A SYN to a closed port: RST|ACK acking it.
	inject(c, 4000, 9, 1000, 0, header.TCPFlagSyn, 1000, nil)
	r := sn.last(0)
	if r == nil || r.Flags() != header.TCPFlagRst|header.TCPFlagAck || r.Ack() != 1001 || r.Seq() != 0 {
		t.Fatalf("answer %v", r)
	}
	// An ACK: RST with its ack as sequence number.
	inject(c, 4000, 9, 1000, 5555, header.TCPFlagAck, 1000, []byte("zz"))
	if r := sn.last(0); r.Flags() != header.TCPFlagRst || r.Seq() != 5555 {
		t.Fatalf("answer %v", r)
	}
	// A RST: nothing.
	n := sn.count(0)
	inject(c, 4000, 9, 1000, 0, header.TCPFlagRst, 0, nil)
	if sn.count(0) != n {
		t.Fatal("answered a RST")
	}
	if a.s.Stats.TCP.NoPort.Load() != 3 {
		t.Errorf("noport %d", a.s.Stats.TCP.NoPort.Load())
	}
}

// An ICMP port unreachable for our SYN refuses the connection; a need-frag
// lowers the MSS.
func TestTCPICMP(t *testing.T) {
	a, b, c := pair(t, 1500)
	// Drop everything b would answer, and have b answer the SYN with ICMP
	// instead.
	var syn []byte
	var mu sync.Mutex
	c.setHook(func(from int, frame []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		if from == 0 && len(frame) > 34 && frame[23] == header.ProtoTCP && syn == nil {
			syn = append([]byte(nil), frame[14:]...)
			return false
		}
		return from == 0
	})
	so := a.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
	if err := so.Connect(sa("10.0.0.2:80")); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	m := b.s.pool.CopyIn(mbuf.MT_DATA, syn, 0)
	mu.Unlock()
	c.setHook(nil)
	b.s.icmp4Error(m, header.ICMPv4DestUnreachable, header.ICMPv4PortUnreachable, 0, nil)
	if err := so.WaitConnected(bg); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("connect: %v, want ECONNREFUSED", err)
	}

	// PMTU: a need-frag for a data segment of an established connection.
	cli, srv := tcpConn(t, a, b, "10.0.0.2:81")
	var data []byte
	c.setHook(func(from int, frame []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		if from == 0 && len(frame) > 1000 && data == nil {
			data = append([]byte(nil), frame[14:]...)
			return false
		}
		return true
	})
	big := make([]byte, 1200) // one segment: nothing after it to SACK
	write(cli, big, 0)
	mu.Lock()
	m = b.s.pool.CopyIn(mbuf.MT_DATA, data, 0)
	mu.Unlock()
	b.s.icmp4Error(m, header.ICMPv4DestUnreachable, header.ICMPv4FragNeeded, 1000, nil)
	if v, _ := cli.GetOptInt(IPPROTO_TCP, TCP_MAXSEG); v != 1000-40 {
		t.Errorf("MSS after need-frag: %d", v)
	}
	got := make([]byte, len(big))
	if n, err := read(srv, got, socket.MSG_WAITALL); n != len(big) || err != nil {
		t.Fatalf("read %d %v", n, err)
	}
}

func tsOpt(val, ecr uint32) []byte {
	b := []byte{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[4:], val)
	binary.BigEndian.PutUint32(b[8:], ecr)
	return b
}

// Timestamps are negotiated, and PAWS drops a segment whose timestamp is
// older than the last one seen.
func TestTCPTimestampsPAWS(t *testing.T) {
	a, b, c := pair(t, 1500)
	cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
	var info [TCPInfoLen]byte
	sopt := socket.Sockopt{Level: IPPROTO_TCP, Name: TCP_INFO, Val: info[:], Valsize: len(info)}
	if err := cli.GetOpt(&sopt); err != nil {
		t.Fatal(err)
	}
	if info[tiOptions]&0x05 != 0x05 || info[0] != tcpsEstablished {
		t.Fatalf("tcp_info state %d options %#x", info[0], info[tiOptions])
	}
	sn := &sniffer{}
	c.setHook(sn.hook)
	write(srv, []byte("hi"), 0) // the server's segment shows its TSval
	seg := sn.last(1)
	var tsval uint32
	header.TCPOptions(seg.Options(), func(kind uint8, data []byte) {
		if kind == header.TCPOptTimestamp {
			tsval = binary.BigEndian.Uint32(data)
		}
	})
	buf := make([]byte, 10)
	read(cli, buf, 0)
	sn.deaf = true
	cport := seg.DstPort()
	rcvNxt := seg.Seq() + 2
	injectOpts(c, 80, cport, rcvNxt, seg.Ack(), header.TCPFlagAck, 1000, tsOpt(tsval-100, 0), []byte("old"))
	if a.s.Stats.TCP.PAWSDrop.Load() != 1 {
		t.Fatalf("PAWS drops %d", a.s.Stats.TCP.PAWSDrop.Load())
	}
	if _, err := read(cli, buf, socket.MSG_DONTWAIT); !errors.Is(err, syscall.EWOULDBLOCK) {
		t.Fatalf("old segment delivered: %v", err)
	}
	injectOpts(c, 80, cport, rcvNxt, seg.Ack(), header.TCPFlagAck, 1000, tsOpt(tsval+1, 0), []byte("new"))
	if n, err := read(cli, buf, socket.MSG_DONTWAIT); err != nil || string(buf[:n]) != "new" {
		t.Fatalf("read %q %v", buf[:n], err)
	}
}

// No seed's sequence numbers make ordinary data urgent.
func TestTCPNoStrayUrgent(t *testing.T) {
	for seed := uint64(1); seed <= 16; seed++ {
		a, b := newHost(t, seed), newHost(t, seed+1000)
		c := newCable(1500)
		a.attach(c.ends[0], "10.0.0.1/24")
		b.attach(c.ends[1], "10.0.0.2/24")
		sn := &sniffer{}
		c.setHook(sn.hook)
		cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
		write(cli, []byte("data"), 0)
		write(srv, []byte("back"), 0)
		buf := make([]byte, 4)
		if n, err := read(srv, buf, socket.MSG_WAITALL); n != 4 || err != nil || string(buf) != "data" {
			t.Fatalf("seed %d: read %q %v", seed, buf[:n], err)
		}
		sn.mu.Lock()
		for _, l := range sn.segs {
			for _, s := range l {
				if s.Flags()&header.TCPFlagUrg != 0 {
					t.Errorf("seed %d: urgent segment %v", seed, s)
				}
			}
		}
		sn.mu.Unlock()
	}
}
