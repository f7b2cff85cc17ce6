package inet

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/mbuf"
)

// injectRaw delivers raw TCP bytes (header and data, checksum fixed) from
// 10.0.0.2 to 10.0.0.1 on end 0 of the cable.
func injectRaw(c *cable, seg []byte) {
	const ipl = header.IPv4MinLen
	b := make([]byte, header.EthernetLen+ipl+len(seg))
	e := header.Ethernet(b)
	e.SetDst(c.ends[0].HWAddr())
	e.SetSrc(c.ends[1].HWAddr())
	e.SetType(header.EtherTypeIPv4)
	src, dst := netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.0.1")
	header.IPv4Fields{TotalLen: ipl + len(seg), TTL: 64, Protocol: header.ProtoTCP, Src: src, Dst: dst}.Encode(b[header.EthernetLen:])
	th := b[header.EthernetLen+ipl:]
	copy(th, seg)
	if len(th) >= header.TCPMinLen {
		header.TCP(th).SetChecksum(0)
		header.TCP(th).SetChecksum(^header.Checksum(th, header.PseudoHeaderChecksum(header.ProtoTCP, src, dst, uint16(len(th)))))
	}
	c.ends[0].Input(c.ends[0].Pool.CopyIn(mbuf.MT_DATA, b, 0))
}

// FuzzTCPSegment feeds arbitrary segments to a stack with a listener and
// an established connection (the first byte picks the destination port:
// even the listener, odd the connection, whose sequence numbers the
// segment's are offset from).
func FuzzTCPSegment(f *testing.F) {
	syn := make([]byte, 24)
	header.TCP(syn).SetDataOffset(24)
	header.TCP(syn).SetFlags(header.TCPFlagSyn)
	copy(syn[20:], []byte{2, 4, 5, 0xb4})
	f.Add(byte(0), syn)
	ack := make([]byte, 23)
	header.TCP(ack).SetDataOffset(20)
	header.TCP(ack).SetFlags(header.TCPFlagAck | header.TCPFlagFin)
	f.Add(byte(1), ack)
	opts := make([]byte, 40)
	header.TCP(opts).SetDataOffset(40)
	header.TCP(opts).SetFlags(header.TCPFlagAck)
	copy(opts[20:], []byte{1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 5, 10, 0, 0, 0, 0, 0, 0, 0, 9})
	f.Add(byte(3), opts)
	f.Fuzz(func(t *testing.T, mode byte, seg []byte) {
		// In a bubble, so that the timers of connections left closing
		// run on virtual time and everything is freed at the end.
		synctest.Test(t, func(t *testing.T) {
			fuzzTCPSegment(t, mode, seg)
			time.Sleep(10 * time.Minute)
		})
	})
}

func fuzzTCPSegment(t *testing.T, mode byte, seg []byte) {
	a, b, c := pair(t, 1500)
	ls := a.tcpListen("10.0.0.1:80", 5)
	cli, err := b.tcpDial("10.0.0.1:80")
	if err != nil {
		t.Fatal(err)
	}
	srv := tcpAccept(t, ls)
	_ = srv
	sn := &sniffer{}
	c.setHook(sn.hook)
	write(cli, []byte("x"), 0)
	last := sn.last(1)
	seg = append([]byte(nil), seg...)
	if len(seg) >= header.TCPMinLen {
		th := header.TCP(seg)
		if mode&1 == 0 {
			th.SetDstPort(80)
		} else if last != nil {
			th.SetSrcPort(last.SrcPort())
			th.SetDstPort(80)
			th.SetSeq(last.Seq() + th.Seq()%4096)
			th.SetAck(last.Ack() + th.Ack()%4096 - 2048)
		}
	}
	injectRaw(c, seg)
	injectRaw(c, seg)
	a.v.Close()
	b.v.Close()
}
