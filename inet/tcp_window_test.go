package inet

import (
	"errors"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/socket"
)

// TestTCPReceivedPastAdvertisedEdge: a receiver takes what fits its
// buffer, even past the right edge of the window it last advertised: here
// a window probe arrives when the reader has made a little room, not
// enough for a window update. RCV.NXT then passes RCV.ADV; the window
// offered is still what the buffer has room for, never the negative
// distance to the old edge read as a huge number, and data after a drain
// is taken and acknowledged.
func TestTCPReceivedPastAdvertisedEdge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		h.listen(5)
		const hiwat = 8192
		if err := h.ls.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVBUF, hiwat); err != nil {
			t.Fatal(err)
		}
		h.established()
		data := make([]byte, hiwat)
		for i := range data {
			data[i] = byte(i * 7)
		}
		for off := 0; off < hiwat; off += 1460 {
			end := min(off+1460, hiwat)
			h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535, data: data[off:end]})
			h.snd += uint32(end - off)
		}
		time.Sleep(h.a.s.TCPTunables().DelAck)
		synctest.Wait()
		if l := h.sent(); len(l) == 0 || l[len(l)-1].Ack() != h.snd || l[len(l)-1].Window() != 0 {
			t.Fatalf("a full buffer: the stack sent %v, want an ACK of %d with a zero window", l, h.snd)
		}
		buf := make([]byte, hiwat)
		if n, err := read(h.so, buf[:2000], socket.MSG_DONTWAIT); n != 2000 || err != nil {
			t.Fatalf("read %d, %v", n, err)
		}
		h.expectNone("2000 bytes of room is no window update (less than two segments and half the buffer)")
		// The peer's window probe: one byte, which fits.
		h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535, data: data[:1]})
		h.snd++
		time.Sleep(h.a.s.TCPTunables().DelAck)
		synctest.Wait()
		l := h.sent()
		if len(l) == 0 || l[len(l)-1].Ack() != h.snd {
			t.Fatalf("the probe: the stack sent %v, want an ACK of %d", l, h.snd)
		}
		if w := l[len(l)-1].Window(); w > 2000 {
			t.Fatalf("the probe's ACK offers %d bytes with 1999 free", w)
		}
		if ti := tcpInfoOf(t, h.so); ti.RcvSpace > hiwat {
			t.Fatalf("TCP_INFO: offered window %d with a %d-byte buffer", ti.RcvSpace, hiwat)
		}
		// Drained, the buffer takes a full segment again.
		for {
			n, err := read(h.so, buf, socket.MSG_DONTWAIT)
			if err != nil || n == 0 {
				break
			}
		}
		h.sent()
		h.send(tseg{flags: fACK | fPSH, seq: h.snd, ack: h.rcv, win: 65535, data: data[:1000]})
		h.snd += 1000
		time.Sleep(h.a.s.TCPTunables().DelAck)
		synctest.Wait()
		if l := h.sent(); len(l) == 0 || l[len(l)-1].Ack() != h.snd {
			t.Fatalf("new data after the drain: the stack sent %v, want an ACK of %d", l, h.snd)
		}
	})
}

// tcpInfoOf reads so's TCP_INFO.
func tcpInfoOf(t *testing.T, so *socket.Socket) TCPInfo {
	t.Helper()
	var info [TCPInfoLen]byte
	sopt := socket.Sockopt{Level: IPPROTO_TCP, Name: TCP_INFO, Val: info[:], Valsize: len(info)}
	if err := so.GetOpt(&sopt); err != nil {
		t.Fatal(err)
	}
	ti, err := ParseTCPInfo(info[:])
	if err != nil {
		t.Fatal(err)
	}
	return ti
}

// TestTCPMinMSS: a peer that offers an MSS of 1 still gets segments of
// net.inet.tcp.minmss (216 bytes), not a segment per byte; TCP_MAXSEG
// takes no value below minmss less 40 bytes of headers.
func TestTCPMinMSS(t *testing.T) {
	for _, c := range []struct {
		v    int
		want error
	}{{175, syscall.EINVAL}, {176, nil}, {1000, nil}, {65536, syscall.EINVAL}} {
		h := newHost(t, 1)
		so := h.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
		if err := so.SetOptInt(IPPROTO_TCP, TCP_MAXSEG, c.v); !errors.Is(err, c.want) && (err != nil || c.want != nil) {
			t.Errorf("TCP_MAXSEG %d: %v, want %v", c.v, err, c.want)
		}
	}
	synctest.Test(t, func(t *testing.T) {
		h := newTCPHarness(t)
		h.synRcvd(optMSS(1))
		h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535})
		h.so = h.accept()
		if n, err := write(h.so, make([]byte, 1000), socket.MSG_DONTWAIT); n != 1000 || err != nil {
			t.Fatalf("write %d, %v", n, err)
		}
		l := h.sent()
		if len(l) == 0 || len(l[0].Payload()) != tcpMinMSS {
			t.Fatalf("with an offered MSS of 1 the stack sent %v, want segments of %d bytes", l, tcpMinMSS)
		}
	})
}
