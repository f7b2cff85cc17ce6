package main

import (
	"net/netip"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/mbuf"
)

// tcpTracer is a link tap on the server's interface that records one TCP
// connection to port as tcptrace does: the data segments the server sends
// and the acknowledgments and windows the client returns, plus samples of
// the server's TCP_INFO that the caller adds. The first SYN to port picks
// the connection; later ones are ignored.
//
// Frame runs in the goroutine that sends or receives the frame, so it only
// copies the headers and appends to a slice.
type tcpTracer struct {
	port uint16

	mu       sync.Mutex
	start    time.Time      // the connection's first segment (the client's SYN)
	client   netip.AddrPort // the connection's client end; invalid until the SYN
	iss      uint32         // the server's initial sequence number
	haveISS  bool
	cliScale int    // window shift the client offered in its SYN, -1 for none
	srvScale int    // window shift the server offered in its SYN-ACK, -1 for none
	sent     []span // the sequence space sent so far, sorted and merged
	segs     []traceSeg
	acks     []traceAck
	info     []traceInfo
}

// traceSeg is a data segment from the server: its relative sequence
// numbers, and whether it carried data sent before (a retransmission).
type traceSeg struct {
	t        time.Duration
	seq, end int64
	rexmt    bool
}

// traceAck is an acknowledgment from the client: the relative sequence
// number it acknowledges and the right edge of the window it offers.
type traceAck struct {
	t        time.Duration
	ack, win int64
}

// traceInfo is a sample of the server's TCP_INFO.
type traceInfo struct {
	t        time.Duration
	cwnd     uint32
	ssthresh uint32
	srtt     time.Duration
}

func newTCPTracer(port uint16) *tcpTracer {
	return &tcpTracer{port: port, cliScale: -1, srvScale: -1}
}

var _ link.Tap = (*tcpTracer)(nil)

// Frame records the frame if it belongs to the traced connection.
func (tr *tcpTracer) Frame(ifp *link.Ifnet, m *mbuf.Mbuf, out bool) {
	if ifp.Type() != link.Ethernet {
		return
	}
	var buf [header.EthernetLen + header.IPv6Len + header.TCPMaxHeaderLen]byte
	n := mbuf.CopyData(m, 0, buf[:])
	pktLen := mbuf.Length(m) - header.EthernetLen
	eth := header.Ethernet(buf[:n])
	if eth.Check() != nil {
		return
	}
	var src, dst netip.Addr
	var seg header.TCP
	var tcpLen int
	switch eth.Type() {
	case header.EtherTypeIPv4:
		ip := header.IPv4(eth.Payload())
		if ip.Check(pktLen) != nil || ip.Protocol() != 6 || ip.FragOffset() != 0 || ip.MF() {
			return
		}
		src, dst = ip.Src(), ip.Dst()
		seg, tcpLen = header.TCP(ip[ip.HeaderLen():]), ip.TotalLen()-ip.HeaderLen()
	case header.EtherTypeIPv6:
		ip := header.IPv6(eth.Payload())
		if ip.Check(pktLen) != nil || ip.NextHeader() != 6 {
			return
		}
		src, dst = ip.Src(), ip.Dst()
		seg, tcpLen = header.TCP(ip[header.IPv6Len:]), ip.PayloadLen()
	default:
		return
	}
	if seg.Check(tcpLen) != nil {
		return
	}
	now := time.Now()
	plen := tcpLen - seg.DataOffset()
	flags := seg.Flags()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	switch {
	case !out && seg.DstPort() == tr.port:
		from := netip.AddrPortFrom(src, seg.SrcPort())
		if flags&header.TCPFlagSyn != 0 && flags&header.TCPFlagAck == 0 && !tr.client.IsValid() {
			tr.client, tr.start = from, now
			tr.cliScale = windowShift(seg)
			return
		}
		if from != tr.client || !tr.haveISS || flags&header.TCPFlagAck == 0 {
			return
		}
		win := int64(seg.Window())
		if tr.cliScale >= 0 && tr.srvScale >= 0 && flags&header.TCPFlagSyn == 0 {
			win <<= tr.cliScale
		}
		ack := int64(seg.Ack() - tr.iss - 1)
		tr.acks = append(tr.acks, traceAck{t: now.Sub(tr.start), ack: ack, win: ack + win})
	case out && seg.SrcPort() == tr.port:
		if netip.AddrPortFrom(dst, seg.DstPort()) != tr.client {
			return
		}
		if flags&header.TCPFlagSyn != 0 {
			tr.iss, tr.haveISS = seg.Seq(), true
			tr.srvScale = windowShift(seg)
			return
		}
		if plen <= 0 || !tr.haveISS {
			return
		}
		s := traceSeg{t: now.Sub(tr.start), seq: int64(seg.Seq() - tr.iss - 1)}
		s.end = s.seq + int64(plen)
		// Segments may pass the tap out of order (two goroutines sending
		// at once), so a retransmission is a segment with bytes sent
		// before, not one below the highest sent.
		s.rexmt = overlaps(tr.sent, span{s.seq, s.end})
		tr.sent = addSpan(tr.sent, span{s.seq, s.end})
		tr.segs = append(tr.segs, s)
	}
}

// span is a range of relative sequence numbers, [from, to).
type span struct{ from, to int64 }

// overlaps reports whether x shares a byte with a span of set (sorted,
// disjoint).
func overlaps(set []span, x span) bool {
	i := sort.Search(len(set), func(i int) bool { return set[i].to > x.from })
	return i < len(set) && set[i].from < x.to
}

// addSpan adds x to set, merging what it touches or overlaps.
func addSpan(set []span, x span) []span {
	i := sort.Search(len(set), func(i int) bool { return set[i].to >= x.from })
	j := i
	for j < len(set) && set[j].from <= x.to {
		x.from, x.to = min(x.from, set[j].from), max(x.to, set[j].to)
		j++
	}
	if j == i+1 {
		set[i] = x
		return set
	}
	return slices.Insert(slices.Delete(set, i, j), i, x)
}

// windowShift returns the shift of a SYN's window scale option, or -1.
func windowShift(seg header.TCP) int {
	shift := -1
	header.TCPOptions(seg.Options(), func(kind uint8, data []byte) {
		if kind == header.TCPOptWindowScale && len(data) == 1 {
			shift = int(min(data[0], 14))
		}
	})
	return shift
}

// sample adds a TCP_INFO sample taken now; samples before the connection's
// first segment are dropped.
func (tr *tcpTracer) sample(ti tcpInfo) {
	now := time.Now()
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.start.IsZero() {
		return
	}
	tr.info = append(tr.info, traceInfo{t: now.Sub(tr.start), cwnd: ti.SndCwnd, ssthresh: ti.SndSsthresh, srtt: ti.RTT})
}

// traceData is a copy of what a tracer recorded.
type traceData struct {
	segs []traceSeg
	acks []traceAck
	info []traceInfo
}

// data returns a copy of the records.
func (tr *tcpTracer) data() traceData {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return traceData{
		segs: append([]traceSeg(nil), tr.segs...),
		acks: append([]traceAck(nil), tr.acks...),
		info: append([]traceInfo(nil), tr.info...),
	}
}

// retransmissions counts the retransmitted segments.
func (d traceData) retransmissions() int {
	n := 0
	for _, s := range d.segs {
		if s.rexmt {
			n++
		}
	}
	return n
}
