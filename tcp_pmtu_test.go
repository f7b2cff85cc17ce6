package bsdnet_test

import (
	"bytes"
	"io"
	"net/netip"
	"testing"
	"testing/synctest"
)

// TestTCPPathMTUDiscovery: a TCP transfer from a through r to b, where r's
// link to b has a 1280-byte MTU (and b's end claims 1500). a's IPv4 segments carry DF, so r answers the
// first full-sized one with "fragmentation needed" instead of fragmenting
// it (IPv6 routers never fragment); a's TCP lowers its MSS to the path MTU,
// resends, and everything arrives; no IPv4 packet is fragmented.
func TestTCPPathMTUDiscovery(t *testing.T) {
	for _, tc := range []struct {
		name, addr string
	}{{"IPv4", "10.2.0.2:80"}, {"IPv6", "[fd02::2]:80"}} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rn := newNwRouted(t, 5, 1280)
				// b's own link says 1500, so that it offers an MSS the
				// path cannot carry: only r's side knows better.
				_, bEnd := rn.rb.Ends()
				bEnd.SetMTU(1500)
				ln, err := rn.b.Listen("tcp", tc.addr)
				nwMust(t, err)
				msg := nwPattern(1<<20, 3)
				got := make(chan []byte, 1)
				go func() {
					c, err := ln.Accept()
					if err != nil {
						got <- nil
						return
					}
					defer c.Close()
					b, _ := io.ReadAll(c)
					got <- b
				}()
				c, err := rn.a.Dial("tcp", tc.addr)
				nwMust(t, err)
				if _, err := c.Write(msg); err != nil {
					t.Fatalf("write: %v", err)
				}
				c.Close()
				if b := <-got; !bytes.Equal(b, msg) {
					t.Fatalf("b received %d bytes, want the %d sent", len(b), len(msg))
				}
				dst := netip.MustParseAddrPort(tc.addr).Addr()
				if m := rn.a.Inet().PathMTU(dst); m != 1280 {
					t.Errorf("a's path MTU to %v is %d, want 1280", dst, m)
				}
				as, rs := &rn.a.Inet().Stats, &rn.r.Inet().Stats
				if n := as.TCP.PMTUUpdate.Load(); n == 0 {
					t.Error("a's TCP never lowered its MSS")
				}
				// (IPv6 segments built before the news came may be
				// fragmented by a itself, as IPv6 lets a source do.)
				if n := rs.IP.Fragmented.Load() + as.IP.Fragmented.Load() + rs.IP6.Fragmented.Load(); n != 0 {
					t.Errorf("%d packets fragmented on the way", n)
				}
			})
		})
	}
}
