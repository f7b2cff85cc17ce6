package inet

import (
	"net/netip"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/socket"
)

// TestNeighborAging: a resolved neighbor is used without asking again
// until its time runs out (max_age for ARP, REACHABLE_TIME for ND); the
// first packet after that still goes, to the old address, and a request
// revalidates the entry, whose answer makes it fresh again.
func TestNeighborAging(t *testing.T) {
	for _, tc := range []struct {
		name string
		fam  int
		dst  string
		age  time.Duration
		tx   func(s *Stack) uint64
	}{
		{"arp", socket.AF_INET, "10.0.0.2:7", nbrAgeout, func(s *Stack) uint64 { return s.Stats.ARP.TxRequests.Load() }},
		{"nd", socket.AF_INET6, "[fd00::2]:7", nd6Reachable, func(s *Stack) uint64 { return s.Stats.ND.TxRequests.Load() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := pair(t, 1500)
				srv := b.socket(tc.fam, socket.SOCK_DGRAM, 0)
				must(t, srv.Bind(sa(tc.dst)))
				cli := a.socket(tc.fam, socket.SOCK_DGRAM, 0)
				send := func(what string) {
					t.Helper()
					must(t, sendto(cli, []byte(what), sa(tc.dst)))
					synctest.Wait()
					if got, _, err := recvfrom(srv, 64, socket.MSG_DONTWAIT); err != nil || string(got) != what {
						t.Fatalf("%s: got %q, %v", what, got, err)
					}
				}
				send("first")
				resolved := tc.tx(a.s)
				if resolved == 0 {
					t.Fatal("no request resolved the first send")
				}
				steps := []struct {
					wait time.Duration
					what string
					want uint64 // requests sent so far
				}{
					{tc.age / 2, "fresh: no request", resolved},
					{tc.age, "expired: a request revalidates", resolved + 1},
					{time.Second, "revalidated: no request", resolved + 1},
				}
				for _, s := range steps {
					time.Sleep(s.wait)
					send(s.what)
					if got := tc.tx(a.s); got != s.want {
						t.Errorf("%s: %d requests sent, want %d", s.what, got, s.want)
					}
				}
			})
		})
	}
}

// TestRouteChangesSeenByLookups: routes added and deleted are what the
// next lookup finds, with no lock held by the lookup.
func TestRouteChangesSeenByLookups(t *testing.T) {
	a, _, c := pair(t, 1500)
	dst := netip.MustParseAddr("192.168.7.9")
	gw := netip.MustParseAddr("10.0.0.2")
	steps := []struct {
		name   string
		change func() error
		want   netip.Addr // next hop; invalid for no route
	}{
		{"no route yet", nil, netip.Addr{}},
		{"route by gateway", func() error { return a.s.AddRoute(netip.MustParsePrefix("192.168.7.0/24"), gw, nil) }, gw},
		{"a longer prefix, direct", func() error { return a.s.AddRoute(netip.MustParsePrefix("192.168.7.8/29"), netip.Addr{}, c.ends[0]) }, dst},
		{"longer prefix deleted", func() error { return a.s.DeleteRoute(netip.MustParsePrefix("192.168.7.8/29")) }, gw},
		{"gateway route deleted", func() error { return a.s.DeleteRoute(netip.MustParsePrefix("192.168.7.0/24")) }, netip.Addr{}},
		{"default route", func() error { return a.s.AddRoute(netip.MustParsePrefix("0.0.0.0/0"), gw, nil) }, gw},
		{"a host route", func() error { return a.s.AddRoute(netip.MustParsePrefix("192.168.7.9/32"), netip.Addr{}, c.ends[0]) }, dst},
		{"host route deleted", func() error { return a.s.DeleteRoute(netip.MustParsePrefix("192.168.7.9/32")) }, gw},
		{"default route deleted", func() error { return a.s.DeleteRoute(netip.MustParsePrefix("0.0.0.0/0")) }, netip.Addr{}},
	}
	for _, s := range steps {
		if s.change != nil {
			must(t, s.change())
		}
		_, nh := a.s.lookupRoute(dst)
		if nh != s.want {
			t.Errorf("%s: next hop %v, want %v", s.name, nh, s.want)
		}
	}
}
