package inet

import (
	"encoding/binary"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/header"
	"github.com/bsdnet/bsdnet/socket"
)

// synOpts are a SYN's options as Linux sends them: MSS, SACK-permitted,
// timestamps, window scale.
func synOpts(mss uint16, tsval uint32, ws uint8) []byte {
	b := []byte{header.TCPOptMSS, 4, byte(mss >> 8), byte(mss), header.TCPOptSACKPermitted, 2,
		header.TCPOptTimestamp, 10, 0, 0, 0, 0, 0, 0, 0, 0, header.TCPOptNOP, header.TCPOptWindowScale, 3, ws}
	binary.BigEndian.PutUint32(b[8:], tsval)
	return b
}

// TestTCPSynFlood sends a flood of SYNs from many ports, none of which
// completes: the cache holds at most its limit, the rest get cookies, no
// socket is made, and the entries expire after their SYN-ACK retransmissions.
func TestTCPSynFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, c := pair(t, 1500)
		_ = b
		a.s.TCPTunables().SyncacheLimit = 64
		ls := a.tcpListen("10.0.0.1:80", 16)
		sn := &sniffer{deaf: true}
		c.setHook(sn.hook)
		conns := a.s.TCPConnections()
		const n = 1000
		for i := 0; i < n; i++ {
			injectOpts(c, uint16(10000+i), 80, uint32(i*7919), 0, header.TCPFlagSyn, 65535, synOpts(1460, 1, 7), nil)
		}
		st := &a.s.Stats.TCP
		if got := a.s.SyncacheLen(); got != 64 {
			t.Errorf("cache holds %d, want the limit 64", got)
		}
		if st.SyncookiesSent.Load() != n-64 || st.SyncacheAdded.Load() != 64 {
			t.Errorf("cookies %d, added %d", st.SyncookiesSent.Load(), st.SyncacheAdded.Load())
		}
		if sn.count(0) != n {
			t.Errorf("%d SYN-ACKs for %d SYNs", sn.count(0), n)
		}
		qlen, incq, _ := ls.ListenQueue()
		if qlen != 0 || incq != 0 || a.s.TCPConnections() != conns {
			t.Errorf("sockets made by SYNs alone: qlen %d incomplete %d connections %d (was %d)", qlen, incq, a.s.TCPConnections(), conns)
		}
		// 1 + 2 + 4 s of SYN-ACK retransmissions, then the entries go.
		time.Sleep(20 * time.Second)
		if got := a.s.SyncacheLen(); got != 0 {
			t.Errorf("cache holds %d after the timeouts", got)
		}
		if st.SyncacheRexmit.Load() != 3*64 || st.SyncacheTimeout.Load() != 64 {
			t.Errorf("rexmits %d (want %d), timeouts %d", st.SyncacheRexmit.Load(), 3*64, st.SyncacheTimeout.Load())
		}
	})
}

// TestTCPSynCookieHandshake makes every connection from a cookie (a cache
// of size zero) and checks that the options the cookie carried hold.
func TestTCPSynCookieHandshake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := pair(t, 1500)
		b.s.TCPTunables().SyncacheLimit = 0
		cli, srv := tcpConn(t, a, b, "10.0.0.2:80")
		st := &b.s.Stats.TCP
		if st.SyncookiesSent.Load() != 1 || st.SyncookiesRecvd.Load() != 1 {
			t.Fatalf("cookies sent %d received %d", st.SyncookiesSent.Load(), st.SyncookiesRecvd.Load())
		}
		var info [TCPInfoLen]byte
		sopt := socket.Sockopt{Level: IPPROTO_TCP, Name: TCP_INFO, Val: info[:], Valsize: len(info)}
		if err := srv.GetOpt(&sopt); err != nil {
			t.Fatal(err)
		}
		if info[0] != tcpsEstablished || info[tiOptions]&0x07 != 0x07 {
			t.Errorf("state %d options %#x: want ESTABLISHED with timestamps, SACK, window scaling", info[0], info[tiOptions])
		}
		if mss, _ := srv.GetOptInt(IPPROTO_TCP, TCP_MAXSEG); mss != 1460 {
			t.Errorf("MSS from the cookie %d, want 1460", mss)
		}
		transfer(t, cli, srv, 1<<20, 3)
		transfer(t, srv, cli, 1<<20, 4)
	})
}

// TestTCPForgedCookie: an ACK to a listener that matches no entry and no
// cookie gets a RST and makes nothing.
func TestTCPForgedCookie(t *testing.T) {
	a, _, c := pair(t, 1500)
	ls := a.tcpListen("10.0.0.1:80", 16)
	sn := &sniffer{deaf: true}
	c.setHook(sn.hook)
	inject(c, 40000, 80, 1000, 123456789, header.TCPFlagAck, 1000, []byte("GET /"))
	rst := sn.last(0)
	if rst == nil || rst.Flags()&header.TCPFlagRst == 0 || rst.Seq() != 123456789 {
		t.Fatalf("answer %v, want RST seq 123456789", rst)
	}
	if a.s.Stats.TCP.SyncookiesFailed.Load() != 1 {
		t.Errorf("failed cookies %d", a.s.Stats.TCP.SyncookiesFailed.Load())
	}
	if qlen, incq, _ := ls.ListenQueue(); qlen != 0 || incq != 0 {
		t.Errorf("queue %d/%d", qlen, incq)
	}
}
