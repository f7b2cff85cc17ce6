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

// seqTap records the sequence numbers of the IPv4 TCP data segments an
// interface receives.
type seqTap struct {
	mu   sync.Mutex
	seqs []uint32
}

func (st *seqTap) Frame(_ *link.Ifnet, m *mbuf.Mbuf, out bool) {
	b := mbuf.Bytes(m)
	if out || len(b) < 54 || b[23] != header.ProtoTCP {
		return
	}
	th := header.TCP(b[14+int(b[14]&0xf)*4:])
	if len(th) < header.TCPMinLen || len(th.Payload()) == 0 {
		return
	}
	st.mu.Lock()
	st.seqs = append(st.seqs, th.Seq())
	st.mu.Unlock()
}

// TestTCPPerfectWireInOrder: on a perfect wire (no faults, no delay:
// delivery runs to completion in the sender's goroutine) a bulk transfer
// arrives in order, with no retransmission. The first segment's ACK comes
// back while the rest of its batch is still being handed to the link; the
// segments it releases must wait for that batch (unlockAndSend keeps one
// sender per block).
func TestTCPPerfectWireInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, w := wirePair(t, 1, link.Faults{})
		_, eb := w.Ends()
		tap := &seqTap{}
		eb.AddTap(tap)
		cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
		transfer(t, cli, srv, 16<<20, 1)
		oo, rx := b.s.Stats.TCP.RcvOOPack.Load(), a.s.Stats.TCP.SndRexmitPack.Load()
		if oo != 0 || rx != 0 {
			tap.mu.Lock()
			first := ""
			for i := 1; i < len(tap.seqs); i++ {
				if int32(tap.seqs[i]-tap.seqs[i-1]) < 0 {
					lo := max(0, i-4)
					first = fmt.Sprintf("arrival order around the first inversion: %v", tap.seqs[lo:min(i+4, len(tap.seqs))])
					break
				}
			}
			tap.mu.Unlock()
			t.Errorf("perfect wire: %d out-of-order segments received, %d retransmitted, %d fast retransmits; %s",
				oo, rx, a.s.Stats.TCP.FastRexmit.Load(), first)
		}
	})
}
