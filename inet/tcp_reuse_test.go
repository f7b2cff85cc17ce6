package inet

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/socket"
)

// TestTCPReconnectThroughTimeWait makes thousands of short connections on
// one stack, the server closing first: random ephemeral ports soon land on
// four-tuples the server holds in TIME_WAIT, and each such SYN must end
// the wait and open the new connection (tcp_twcheck's sequence rule, RFC
// 6191's timestamp rule) without a retransmission.
func TestTCPReconnectThroughTimeWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHost(t, 1)
		ls := h.tcpListen("127.0.0.1:5002", 100)
		const n = 3000
		for i := range n {
			c, err := h.v.Create(socket.AF_INET, socket.SOCK_STREAM, 0, socket.RootCred())
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Connect(sa("127.0.0.1:5002")); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitConnected(bg); err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			s, err := ls.ListenDequeue(bg, 0)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			c.Close()
			time.Sleep(time.Millisecond)
		}
		st := &h.s.Stats.TCP
		t.Logf("%d connections, %d TIME_WAITs recycled", n, st.TWRecycled.Load())
		if st.TWRecycled.Load() == 0 {
			t.Error("no TIME_WAIT four-tuple was reused: the test proves nothing")
		}
		if st.RexmtTimeo.Load() != 0 {
			t.Errorf("%d retransmission timeouts: a SYN met a TIME_WAIT that would not give way", st.RexmtTimeo.Load())
		}
	})
}
