package inet

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/link"
	"github.com/bsdnet/bsdnet/mbuf"
)

// mtuTap records, for the TCP segments an interface sends, the largest IP
// packet and whether data went with SACK blocks.
type mtuTap struct {
	mu       sync.Mutex
	largest  int
	sackData int // data segments that carried SACK blocks
}

func (mt *mtuTap) Frame(_ *link.Ifnet, m *mbuf.Mbuf, out bool) {
	b := mbuf.Bytes(m)
	if !out || len(b) < link.EtherHdrLen+header.IPv6Len {
		return
	}
	ip := b[link.EtherHdrLen:]
	th := tcpOf(ip)
	if th == nil {
		return
	}
	sack := false
	header.TCPOptions(th.Options(), func(kind uint8, _ []byte) {
		if kind == header.TCPOptSACK {
			sack = true
		}
	})
	mt.mu.Lock()
	mt.largest = max(mt.largest, len(ip))
	if sack && len(th.Payload()) > 0 {
		mt.sackData++
	}
	mt.mu.Unlock()
}

// TestTCPOptionsWithinMSS: data going both ways over a lossy wire, so that
// each side's full-sized segments carry the SACK blocks of what it holds
// out of order. A segment and its options stay within the MSS (the data
// shrinks to make room), so no packet exceeds the MTU: nothing is
// fragmented, and no IPv4 segment, which carries DF, is refused.
func TestTCPOptionsWithinMSS(t *testing.T) {
	for _, addr := range []string{"10.0.0.2:80", "[fd00::2]:80"} {
		t.Run(addr, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, w := wirePair(t, 3, link.Faults{Loss: 0.02, Delay: time.Millisecond})
				ea, eb := w.Ends()
				taps := []*mtuTap{{}, {}}
				ea.AddTap(taps[0])
				eb.AddTap(taps[1])
				cli, srv := tcpConn(t, a, b, addr)
				transferBothWays(t, cli, srv, 2<<20, 5)
				sackData := 0
				for i, tap := range taps {
					tap.mu.Lock()
					if tap.largest > ea.MTU() {
						t.Errorf("end %d sent a %d-byte packet over a %d-byte MTU", i, tap.largest, ea.MTU())
					}
					sackData += tap.sackData
					tap.mu.Unlock()
				}
				if sackData == 0 {
					t.Error("no data segment carried SACK blocks: the test did not test")
				}
				for _, h := range []*host{a, b} {
					ip, ip6 := &h.s.Stats.IP, &h.s.Stats.IP6
					if f := ip.Fragmented.Load() + ip6.Fragmented.Load() + ip.CantFrag.Load() + ip6.CantFrag.Load(); f != 0 {
						t.Errorf("%d packets fragmented or refused for size", f)
					}
				}
			})
		})
	}
}

// ttlTap records the TTL and TOS of the IPv4 TCP data segments an
// interface sends.
type ttlTap struct {
	mu       sync.Mutex
	ttl, tos []byte
}

func (tt *ttlTap) Frame(_ *link.Ifnet, m *mbuf.Mbuf, out bool) {
	b := mbuf.Bytes(m)
	if !out || len(b) < link.EtherHdrLen+header.IPv4MinLen {
		return
	}
	ip := b[link.EtherHdrLen:]
	if th := tcpOf(ip); th == nil || ip[0]>>4 != 4 || len(th.Payload()) == 0 {
		return
	}
	tt.mu.Lock()
	tt.ttl, tt.tos = append(tt.ttl, ip[8]), append(tt.tos, ip[1])
	tt.mu.Unlock()
}

// TestTCPSegmentsCarryTTLAndTOS: a TCP socket's IP_TTL and IP_TOS are in
// every data segment it sends.
func TestTCPSegmentsCarryTTLAndTOS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, w := wirePair(t, 4, link.Faults{})
		ea, _ := w.Ends()
		tap := &ttlTap{}
		ea.AddTap(tap)
		cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
		if err := cli.SetOptInt(IPPROTO_IP, IP_TTL, 33); err != nil {
			t.Fatal(err)
		}
		if err := cli.SetOptInt(IPPROTO_IP, IP_TOS, 0x10); err != nil {
			t.Fatal(err)
		}
		transfer(t, cli, srv, 100000, 9)
		tap.mu.Lock()
		defer tap.mu.Unlock()
		if len(tap.ttl) == 0 {
			t.Fatal("no data segment seen")
		}
		for i := range tap.ttl {
			if tap.ttl[i] != 33 || tap.tos[i] != 0x10 {
				t.Fatalf("segment %d: TTL %d TOS %#x, want 33 and 0x10", i, tap.ttl[i], tap.tos[i])
			}
		}
	})
}
