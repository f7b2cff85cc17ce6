package inet

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/socket"
)

// TestTCPReadAcks: a reader that drains delayed data sends the ACK at once
// (the window it opened, so that a peer held by Nagle goes on) while the
// connection is not interactive; once the application answers data with
// data within the ACK delay (a request and response exchange), reads leave
// the ACK to the answer, which carries it, unless the read reopens a
// window that had closed; a delayed-ACK timeout (no answer in time) ends
// the interactive mode.
func TestTCPReadAcks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		h.listen(5)
		if err := h.ls.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096); err != nil {
			t.Fatal(err)
		}
		h.established()
		delack := h.a.s.TCPTunables().DelAck
		buf := make([]byte, 64)
		request := func(data string, ack bool) {
			t.Helper()
			h.send(tseg{flags: fACK | fPSH, seq: h.snd, ack: h.rcv, win: 65535, data: []byte(data)})
			h.snd += uint32(len(data))
			if ack {
				h.una = h.rcv
			}
			h.expectNone("one data segment: its ACK is delayed")
			if n, err := read(h.so, buf, socket.MSG_DONTWAIT); n != len(data) || err != nil {
				t.Fatalf("read %d, %v; want %d bytes", n, err, len(data))
			}
		}
		answer := func(data string) {
			t.Helper()
			if n, err := write(h.so, []byte(data), socket.MSG_DONTWAIT); n != len(data) || err != nil {
				t.Fatalf("write %d, %v", n, err)
			}
			h.check("the answer carries the ACK", h.expect("the answer"), segWant{fACK | fPSH, h.rcv, h.snd, len(data)})
			h.rcv += uint32(len(data))
		}

		request("GET 1", false)
		h.check("the first read acknowledges at once", h.expect("the read"), h.ack())
		answer("200 1")

		for i, req := range []string{"GET 2", "GET 3", "GET 4"} {
			request(req, true)
			h.expectNone("an interactive read leaves the ACK to the answer")
			time.Sleep(delack / 4)
			h.expectNone("an interactive read leaves the ACK to the answer")
			answer([]string{"200 2", "200 3", "200 4"}[i])
		}

		// A request that fills the buffer, its last segment's ACK
		// delayed: the read that empties the buffer acknowledges at
		// once, interactive or not, with the window it reopened.
		big := make([]byte, 4096)
		for off := 0; off < len(big); off += 1460 {
			end := min(off+1460, len(big))
			h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535, data: big[off:end]})
			h.snd += uint32(end - off)
		}
		h.una = h.rcv
		h.sent()
		if n, err := read(h.so, make([]byte, 8192), socket.MSG_DONTWAIT); n != len(big) || err != nil {
			t.Fatalf("read %d, %v", n, err)
		}
		if g := h.expect("a read that reopens a closed window"); !h.ack().match(g) || int(g.Window()) != len(big) {
			t.Fatalf("a read that reopens a closed window: got %v, want %v with window %d", g, h.ack(), len(big))
		}
		answer("201 big")

		// The application reads and does not answer: the timer sends
		// the ACK, and later reads acknowledge at once again.
		request("PUT 5", true)
		h.expectNone("the read")
		time.Sleep(delack)
		synctest.Wait()
		h.check("the delayed-ACK timer", h.expect("the timer"), h.ack())
		request("PUT 6", false)
		h.check("after a delayed-ACK timeout, a read acknowledges at once", h.expect("the read"), h.ack())
	})
}
