package inet

import (
	"fmt"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/mbuf"
)

// sizeTap records the payload lengths of the TCP data segments lo0 sends;
// with flipAt, it turns lo0's segmentation offload off when it first sees a
// segment of more than flipAt bytes.
type sizeTap struct {
	mu      sync.Mutex
	sizes   []int
	flipAt  int
	flipped int // len(sizes) when the offload went off; -1 before
}

func (st *sizeTap) Frame(ifp *link.Ifnet, m *mbuf.Mbuf, out bool) {
	b := mbuf.Bytes(m)
	if !out || len(b) < link.NullHdrLen+header.IPv4MinLen {
		return
	}
	th := tcpOf(b[link.NullHdrLen:])
	if th == nil {
		return
	}
	n := len(th.Payload())
	if n == 0 {
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.sizes = append(st.sizes, n)
	if st.flipAt > 0 && n > st.flipAt && st.flipped < 0 {
		ifp.SetTSOMax(0)
		st.flipped = len(st.sizes)
	}
}

// tcpOf is the TCP segment in an IPv4 or IPv6 packet without extension
// headers, or nil for anything else.
func tcpOf(ip []byte) header.TCP {
	switch {
	case len(ip) >= header.IPv4MinLen && ip[0]>>4 == 4 && ip[9] == header.ProtoTCP:
		return header.TCP(ip[int(ip[0]&0xf)*4:])
	case len(ip) >= header.IPv6Len && ip[0]>>4 == 6 && ip[6] == header.ProtoTCP:
		return header.TCP(ip[header.IPv6Len:])
	}
	return nil
}

// TestTCPLoopbackTSO: lo0 takes TCP segments up to its offload limit whole,
// so a connection over it sends segments of many MSS (whole MSS multiples
// unless a segment ends the data) and the data arrives byte-exact; with the
// offload off, no segment exceeds the MSS; when the offload goes away in
// the middle of a transfer, the refused segment (EMSGSIZE) and the rest go
// again in MSS-sized segments and nothing is lost.
func TestTCPLoopbackTSO(t *testing.T) {
	const total = 4 << 20
	for _, tc := range []struct {
		name string
		addr string
		tso  string // "on", "off" or "flip" (off once a large segment went)
	}{
		{"IPv4", "127.0.0.1:80", "on"},
		{"IPv6", "[::1]:80", "on"},
		{"IPv4/off", "127.0.0.1:80", "off"},
		{"IPv6/off", "[::1]:80", "off"},
		{"IPv4/flip", "127.0.0.1:80", "flip"},
		{"IPv6/flip", "[::1]:80", "flip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHost(t, 1)
				lo := h.s.lo.ifp
				hl := header.IPv4MinLen
				if tc.addr[0] == '[' {
					hl = header.IPv6Len
				}
				// The MSS less the timestamp option every segment has.
				mss := lo.MTU() - hl - header.TCPMinLen - 12
				tap := &sizeTap{flipped: -1}
				switch tc.tso {
				case "off":
					lo.SetTSOMax(0)
				case "flip":
					tap.flipAt = mss
				}
				lo.AddTap(tap)
				cli, srv := tcpConn(t, h, h, tc.addr)
				transfer(t, cli, srv, total, 7)

				tap.mu.Lock()
				defer tap.mu.Unlock()
				limit := link.LoopbackTSOMax - hl - header.TCPMinLen - 12
				big, sum := 0, 0
				for i, n := range tap.sizes {
					sum += n
					if n > limit {
						t.Fatalf("segment %d carries %d bytes, more than the offload limit's %d", i, n, limit)
					}
					if n <= mss {
						continue
					}
					big++
					if tc.tso == "off" || tc.tso == "flip" && tap.flipped >= 0 && i >= tap.flipped {
						t.Fatalf("segment %d carries %d bytes with the offload off (MSS %d)", i, n, mss)
					}
				}
				if sum < total {
					t.Fatalf("lo0 carried %d bytes of data, want at least %d", sum, total)
				}
				switch tc.tso {
				case "on":
					if big < len(tap.sizes)/2 {
						t.Errorf("%d of %d data segments exceed the MSS (%d); want most: %s", big, len(tap.sizes), mss, sizes(tap.sizes))
					}
				case "flip":
					if tap.flipped < 0 {
						t.Errorf("no segment exceeded the MSS: %s", sizes(tap.sizes))
					}
				}
			})
		})
	}
}

// sizes shows the first few of a list of segment sizes.
func sizes(l []int) string {
	if len(l) > 12 {
		return fmt.Sprintf("%v…", l[:12])
	}
	return fmt.Sprint(l)
}

// TestTCPAckLargeSegment: a segment of more than one MSS (offloaded or
// merged on the way) is acknowledged at once, not after the ACK delay.
func TestTCPAckLargeSegment(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		h.established()
		data := make([]byte, 2*1460)
		h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535, data: data})
		h.snd += uint32(len(data))
		h.check("two MSS in one segment", h.expect("the large segment"), h.ack())
		h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535, data: data[:1460]})
		h.snd += 1460
		h.expectNone("one MSS: its ACK is delayed")
	})
}
