package inet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/socket"
)

// lossyRun moves n bytes from a to b across a cable losing pct% of frames
// (seeded), with the given SACK and RACK settings on both hosts, and
// returns the sender's counters and the virtual time taken.
func lossyRun(t *testing.T, seed uint64, pct, n int, sack, rack bool, cc string) (st *TCPStats, took time.Duration) {
	synctest.Test(t, func(t *testing.T) {
		a, b, c := pair(t, 1500)
		for _, h := range []*host{a, b} {
			tun := h.s.TCPTunables()
			tun.SACK, tun.RACK, tun.CongestionControl = sack, rack, cc
		}
		cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
		r := rand.New(rand.NewPCG(seed, 99))
		var mu sync.Mutex
		c.setHook(func(int, []byte) bool {
			mu.Lock()
			defer mu.Unlock()
			return r.IntN(100) >= pct
		})
		start := time.Now()
		transfer(t, cli, srv, n, seed)
		took = time.Since(start)
		st = &a.s.Stats.TCP
	})
	return st, took
}

func TestTCPSackRecovery(t *testing.T) {
	type mode struct {
		name       string
		sack, rack bool
	}
	modes := []mode{{"newreno", false, false}, {"sack", true, false}, {"rack", true, true}}
	var timeouts [3]uint64
	for seed := uint64(1); seed <= 4; seed++ {
		for i, m := range modes {
			st, took := lossyRun(t, seed, 3, 2<<20, m.sack, m.rack, "newreno")
			timeouts[i] += st.RexmtTimeo.Load()
			t.Logf("seed %d %-8s: rexmit %4d pkts, timeouts %d, sack recoveries %d, rack losses %d, tlp %d, %v",
				seed, m.name, st.SndRexmitPack.Load(), st.RexmtTimeo.Load(), st.SackRecovery.Load(),
				st.RackLoss.Load(), st.TLPProbe.Load(), took)
			if m.sack && st.SackRecovery.Load() == 0 {
				t.Errorf("seed %d %s: no SACK recovery", seed, m.name)
			}
		}
	}
	t.Logf("timeouts: %v", timeouts)
	if !(timeouts[2] < timeouts[1] && timeouts[1] < timeouts[0]) {
		t.Errorf("retransmission timeouts newreno/sack/rack = %v: want each fewer than the one before", timeouts)
	}
}

// TestTCPTailLossProbe drops the last two segments of a burst on a wire
// with 5 ms of delay each way: with RACK-TLP a probe two round trips later
// earns a SACK that shows the other loss; without, the retransmission
// timer recovers.
func TestTCPTailLossProbe(t *testing.T) {
	for _, rack := range []bool{true, false} {
		synctest.Test(t, func(t *testing.T) {
			a, b, c := pair(t, 1500)
			for _, h := range []*host{a, b} {
				h.s.TCPTunables().RACK = rack
			}
			var mu sync.Mutex
			dataSegs, dropped := 0, false
			// Frames arrive 5 ms late, in the order they were sent.
			var q [2][][]byte
			var dmu [2]sync.Mutex
			c.setHook(func(from int, frame []byte) bool {
				mu.Lock()
				if from == 0 && len(frame) > 1000 {
					dataSegs++
					if dataSegs >= 9 && !dropped {
						dropped = dataSegs == 10
						mu.Unlock()
						return false
					}
				}
				q[from] = append(q[from], append([]byte(nil), frame...))
				mu.Unlock()
				time.AfterFunc(5*time.Millisecond, func() {
					dmu[from].Lock()
					defer dmu[from].Unlock()
					mu.Lock()
					f := q[from][0]
					q[from] = q[from][1:]
					mu.Unlock()
					peer := c.ends[1-from]
					peer.Input(peer.Pool.CopyIn(0, f, 0))
				})
				return false
			})
			cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
			// Warm up the RTT estimate with one exchange.
			write(cli, []byte("x"), 0)
			var one [1]byte
			read(srv, one[:], 0)
			time.Sleep(100 * time.Millisecond)
			mu.Lock()
			dataSegs = 0
			mu.Unlock()
			start := time.Now()
			buf := make([]byte, 10*1448)
			if n, err := write(cli, buf, 0); n != len(buf) || err != nil {
				t.Fatalf("write %d %v", n, err)
			}
			got := make([]byte, len(buf))
			if n, err := read(srv, got, socket.MSG_WAITALL); n != len(got) || err != nil {
				t.Fatalf("read %d %v", n, err)
			}
			took := time.Since(start)
			st := &a.s.Stats.TCP
			t.Logf("rack=%v: %v, probes %d, timeouts %d", rack, took, st.TLPProbe.Load(), st.RexmtTimeo.Load())
			if !dropped {
				t.Fatal("no segment dropped")
			}
			if rack {
				if st.TLPProbe.Load() == 0 || st.RexmtTimeo.Load() != 0 {
					t.Errorf("probes %d timeouts %d: want a probe and no timeout", st.TLPProbe.Load(), st.RexmtTimeo.Load())
				}
				if took >= 200*time.Millisecond {
					t.Errorf("recovery took %v, want under the 200 ms minimum RTO", took)
				}
			} else if st.RexmtTimeo.Load() == 0 {
				t.Error("without RACK the tail loss should cost a timeout")
			}
		})
	}
}

func TestTCPCongestionOption(t *testing.T) {
	a, b, _ := pair(t, 1500)
	cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
	name := func(so *socket.Socket) string {
		var buf [16]byte
		sopt := socket.Sockopt{Dir: socket.SOPT_GET, Level: IPPROTO_TCP, Name: TCP_CONGESTION, Val: buf[:], Valsize: len(buf)}
		if err := so.GetOpt(&sopt); err != nil {
			t.Fatal(err)
		}
		return strings.TrimRight(string(buf[:sopt.Valsize]), "\x00")
	}
	set := func(so *socket.Socket, v string) error {
		b := []byte(v)
		return so.SetOpt(&socket.Sockopt{Dir: socket.SOPT_SET, Level: IPPROTO_TCP, Name: TCP_CONGESTION, Val: b, Valsize: len(b)})
	}
	if got := name(cli); got != "cubic" {
		t.Errorf("default: %q, want cubic", got)
	}
	if err := set(cli, "newreno"); err != nil {
		t.Fatal(err)
	}
	if got := name(cli); got != "newreno" {
		t.Errorf("after set: %q", got)
	}
	if err := set(srv, "vegas"); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("unknown algorithm: %v, want ESRCH", err)
	}
	// The TCP stack: "rack" by default, "freebsd" without RACK-TLP.
	fblk := func(so *socket.Socket) string {
		var buf [TCPFunctionSetLen]byte
		sopt := socket.Sockopt{Dir: socket.SOPT_GET, Level: IPPROTO_TCP, Name: TCP_FUNCTION_BLK, Val: buf[:], Valsize: len(buf)}
		if err := so.GetOpt(&sopt); err != nil {
			t.Fatal(err)
		}
		return strings.TrimRight(string(buf[:32]), "\x00")
	}
	setBlk := func(so *socket.Socket, v string) error {
		var b [TCPFunctionSetLen]byte
		copy(b[:], v)
		return so.SetOpt(&socket.Sockopt{Dir: socket.SOPT_SET, Level: IPPROTO_TCP, Name: TCP_FUNCTION_BLK, Val: b[:], Valsize: len(b)})
	}
	if got := fblk(cli); got != "rack" {
		t.Errorf("default stack %q, want rack", got)
	}
	if err := setBlk(cli, "freebsd"); err != nil || fblk(cli) != "freebsd" {
		t.Errorf("set freebsd: %v, now %q", err, fblk(cli))
	}
	if err := setBlk(cli, "bbr"); !errors.Is(err, syscall.ENOENT) {
		t.Errorf("unknown stack: %v, want ENOENT", err)
	}
	// The connection still moves data after switching.
	transfer(t, cli, srv, 1<<20, 5)
}

// TestCubicWindow follows RFC 9438's curve: after a loss at W_max the
// window drops to β·W_max, then grows back to W_max about K seconds later
// and beyond it after that.
func TestCubicWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHost(t, 1)
		const mss = 1000
		tp := &tcpcb{s: h.s, maxseg: mss, srtt: 100 * time.Millisecond, cwnd: 100 * mss, ssthresh: 50 * mss, sndScale: 7}
		tp.sndUna, tp.sndMax = 0, 100*mss
		c := &ccCubic{}
		tp.cc = c
		c.congSignal(tp, ccSigRecovery)
		if tp.ssthresh != 70*mss {
			t.Fatalf("ssthresh %d, want %d", tp.ssthresh, 70*mss)
		}
		c.postRecovery(tp)
		if tp.cwnd != 70*mss {
			t.Fatalf("cwnd after recovery %d, want %d", tp.cwnd, 70*mss)
		}
		k := math.Cbrt(100 * (1 - cubicBeta) / cubicC) // seconds
		// ACK a window's worth every 100 ms (one RTT) for 2K seconds.
		var atK uint32
		for tm := time.Duration(0); tm < time.Duration(2*k*float64(time.Second)); tm += 100 * time.Millisecond {
			if atK == 0 && tm >= time.Duration(k*float64(time.Second)) {
				atK = tp.cwnd
			}
			tp.lock()
			for acked := uint32(0); acked < tp.cwnd; acked += mss {
				c.ackReceived(tp, mss)
			}
			tp.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("K = %.2fs, cwnd at K %d segments, at 2K %d", k, atK/mss, tp.cwnd/mss)
		if atK < 95*mss || atK > 110*mss {
			t.Errorf("cwnd at K = %d segments, want about W_max = 100", atK/mss)
		}
		if tp.cwnd <= 120*mss {
			t.Errorf("cwnd at 2K = %d segments, want well past W_max", tp.cwnd/mss)
		}
	})
}

// sackBlocks returns a segment's SACK blocks relative to base.
func sackBlocks(seg header.TCP, base uint32) [][2]uint32 {
	var bl [][2]uint32
	header.TCPOptions(seg.Options(), func(kind uint8, data []byte) {
		if kind != header.TCPOptSACK {
			return
		}
		for i := 0; i+8 <= len(data); i += 8 {
			bl = append(bl, [2]uint32{binary.BigEndian.Uint32(data[i:]) - base, binary.BigEndian.Uint32(data[i+4:]) - base})
		}
	})
	return bl
}

// TestTCPSackBlocks checks the handshake's SACK-permitted options and the
// blocks a receiver reports (RFC 2018 4): the block holding the latest
// arrival first, the others after it, merged as holes fill.
func TestTCPSackBlocks(t *testing.T) {
	a, b, c := pair(t, 1500)
	sn := &sniffer{}
	c.setHook(sn.hook)
	cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
	for from := 0; from < 2; from++ {
		syn := sn.segs[from][0]
		ok := false
		header.TCPOptions(syn.Options(), func(kind uint8, data []byte) { ok = ok || kind == header.TCPOptSACKPermitted })
		if !ok {
			t.Errorf("end %d's SYN (flags %#x) has no SACK-permitted", from, syn.Flags())
		}
	}
	var info [TCPInfoLen]byte
	sopt := socket.Sockopt{Level: IPPROTO_TCP, Name: TCP_INFO, Val: info[:], Valsize: len(info)}
	if err := cli.GetOpt(&sopt); err != nil || info[tiOptions]&TCPI_OPT_SACK == 0 {
		t.Errorf("tcp_info options %#x (%v): want TCPI_OPT_SACK", info[tiOptions], err)
	}
	write(srv, []byte("hi"), 0)
	seg := sn.last(1)
	buf := make([]byte, 10)
	read(cli, buf, 0)
	sn.deaf = true
	cport := seg.DstPort()
	r := seg.Seq() + 2
	payload := make([]byte, 100)
	steps := []struct {
		off  uint32
		want [][2]uint32
	}{
		{100, [][2]uint32{{100, 200}}},
		{300, [][2]uint32{{300, 400}, {100, 200}}},
		{500, [][2]uint32{{500, 600}, {300, 400}, {100, 200}}},
		{200, [][2]uint32{{100, 400}, {500, 600}}},
		{0, [][2]uint32{{500, 600}}},
	}
	for _, s := range steps {
		inject(c, 80, cport, r+s.off, seg.Ack(), header.TCPFlagAck, 1000, payload)
		ack := sn.last(0)
		got := sackBlocks(ack, r)
		if fmt.Sprint(got) != fmt.Sprint(s.want) {
			t.Errorf("after [%d,%d): SACK blocks %v, want %v (ack %d)", s.off, s.off+100, got, s.want, ack.Ack()-r)
		}
	}
	if ack := sn.last(0); ack.Ack()-r != 400 {
		t.Errorf("cumulative ack %d, want 400", ack.Ack()-r)
	}
	// A duplicate earns a D-SACK block first (RFC 2883), then the usual
	// ones; the ACK after it has none.
	for _, s := range []struct {
		off  uint32
		want [][2]uint32
	}{
		{100, [][2]uint32{{100, 200}, {500, 600}}},
		{500, [][2]uint32{{500, 600}}},
	} {
		inject(c, 80, cport, r+s.off, seg.Ack(), header.TCPFlagAck, 1000, payload)
		if got := sackBlocks(sn.last(0), r); fmt.Sprint(got) != fmt.Sprint(s.want) {
			t.Errorf("duplicate [%d,%d): SACK blocks %v, want %v", s.off, s.off+100, got, s.want)
		}
	}
}

// TestTCPInfo reads struct tcp_info on both ends of a transfer across a
// lossy cable: the fields FreeBSD fills, at FreeBSD's offsets.
func TestTCPInfo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, c := pair(t, 1500)
		cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
		r := rand.New(rand.NewPCG(3, 3))
		var mu sync.Mutex
		c.setHook(func(int, []byte) bool {
			mu.Lock()
			defer mu.Unlock()
			return r.IntN(100) >= 3
		})
		transfer(t, cli, srv, 1<<20, 3)
		get := func(so *socket.Socket) TCPInfo {
			var b [TCPInfoLen]byte
			sopt := socket.Sockopt{Level: IPPROTO_TCP, Name: TCP_INFO, Val: b[:], Valsize: len(b)}
			if err := so.GetOpt(&sopt); err != nil || sopt.Valsize != TCPInfoLen {
				t.Fatalf("TCP_INFO: %d bytes, %v", sopt.Valsize, err)
			}
			ti, err := ParseTCPInfo(b[:])
			if err != nil {
				t.Fatal(err)
			}
			return ti
		}
		s, d := get(cli), get(srv)
		t.Logf("sender %+v", s)
		t.Logf("receiver %+v", d)
		if s.State != tcpsEstablished || s.Options != TCPI_OPT_TIMESTAMPS|TCPI_OPT_SACK|TCPI_OPT_WSCALE {
			t.Errorf("state %d options %#x", s.State, s.Options)
		}
		if s.SndMSS != 1460 || s.RTO < 200*time.Millisecond || s.SndCwnd == 0 || s.SndWnd == 0 {
			t.Errorf("mss %d rto %v cwnd %d wnd %d", s.SndMSS, s.RTO, s.SndCwnd, s.SndWnd)
		}
		if s.SndRexmitPack == 0 || d.RcvOOOPack == 0 {
			t.Errorf("resent %d, out of order %d: want both after losses", s.SndRexmitPack, d.RcvOOOPack)
		}
		if s.SndNxt != d.RcvNxt || d.SndNxt != s.RcvNxt {
			t.Errorf("sequence numbers disagree: %d/%d, %d/%d", s.SndNxt, d.RcvNxt, d.SndNxt, s.RcvNxt)
		}
		if _, err := ParseTCPInfo(make([]byte, 100)); err == nil {
			t.Error("a short tcp_info parsed")
		}
	})
}
