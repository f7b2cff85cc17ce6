package inet

import (
	"encoding/binary"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet/header"
)

// FuzzTCPOptionInput feeds arbitrary option bytes to the places where
// the stack uses options: a SYN to a listener (MSS, window scale,
// timestamps, SACK-permitted into the SYN cache or a cookie), and an ACK
// on an established connection with data in flight (timestamps into PAWS
// and the RTT, SACK blocks into the sender's scoreboard). SACK blocks are
// moved next to the data in flight, so that the fuzzer reaches the
// scoreboard instead of sequence numbers far out of the window: each edge
// is taken as an offset from SND.UNA, modulo 64 KiB, less 4 KiB.
//
// Whatever the options, a SYN is answered with a SYN-ACK whose own
// options are well formed, and the connection, once the peer acknowledges
// everything, carries on sending in sequence.
func FuzzTCPOptionInput(f *testing.F) {
	f.Add(false, cat(optMSS(1460), optWS(7), optSACKOK(), tsOpt(1, 0)))
	f.Add(false, []byte{99, 0, 2, 4, 5, 0xb4})
	f.Add(true, optSACK(0, [2]uint32{2920, 5840}, [2]uint32{8760, 11680}))
	f.Add(true, cat(tsOpt(5, 0), optSACK(0, [2]uint32{1460, 2920}, [2]uint32{0, 100}, [2]uint32{7000, 6000})))
	f.Add(true, []byte{header.TCPOptSACK, 34, 0, 0, 0, 1, 0, 0, 0, 2})
	f.Fuzz(func(t *testing.T, established bool, opts []byte) {
		if len(opts) > 40 {
			opts = opts[:40]
		}
		// Padded as the harness sends them, with EOL.
		opts = append(opts[:len(opts):len(opts)], make([]byte, (4-len(opts)%4)%4)...)
		synctest.Test(t, func(t *testing.T) {
			if established {
				fuzzOptionsEstablished(t, opts)
			} else {
				fuzzOptionsSYN(t, opts)
			}
			time.Sleep(10 * time.Minute) // let every timer run out
		})
	})
}

func fuzzOptionsSYN(t *testing.T, opts []byte) {
	h := newTCPHarness(t)
	h.listen(5)
	h.send(tseg{flags: fSYN, seq: h.iss, win: 65535, opts: opts})
	sa := h.expect("a SYN with any options is answered")
	if sa.Flags() != fSYN|fACK || sa.Ack() != h.iss+1 {
		t.Fatalf("answer %v", sa)
	}
	o := optsOf(sa)
	if o.err != nil || len(sa.Options()) > 40 || o.mss < 64 || o.mss > 1460 || o.ws > 14 {
		t.Fatalf("SYN-ACK options %+v (%d bytes)", o, len(sa.Options()))
	}
	in := optsOfBytes(opts)
	if o.sackOK && !in.sackOK || o.ts && !in.ts || o.ws >= 0 && in.ws < 0 {
		t.Fatalf("SYN-ACK options %+v answer options the SYN did not offer (%+v)", o, in)
	}
}

func fuzzOptionsEstablished(t *testing.T, opts []byte) {
	h := newTCPHarness(t)
	h.synRcvd(cat(optMSS(1460), optSACKOK()))
	h.send(tseg{flags: fACK, seq: h.snd, ack: h.rcv, win: 65535})
	h.so = h.accept()
	const n = 10 * 1460
	write(h.so, make([]byte, n), 0)
	una := h.rcv
	h.rcv += uint32(len(payloadOf(h.sent())))
	// Move SACK blocks near the data.
	opts = append([]byte(nil), opts...)
	header.TCPOptions(opts, func(kind uint8, d []byte) {
		if kind != header.TCPOptSACK {
			return
		}
		for i := 0; i+4 <= len(d); i += 4 {
			off := binary.BigEndian.Uint32(d[i:])%(64<<10) - 4<<10
			binary.BigEndian.PutUint32(d[i:], una+off)
		}
	})
	for range 4 { // enough duplicates to start a recovery
		h.send(tseg{flags: fACK, seq: h.snd, ack: una, win: 65535, opts: opts})
	}
	time.Sleep(time.Second)
	for _, g := range h.sent() {
		if d := g.Seq() - una; len(g.Payload()) > 0 && (d >= n || int(d)+len(g.Payload()) > n) {
			t.Fatalf("sent %v, outside the data written", g)
		}
	}
	// The peer takes everything; new data follows in sequence.
	h.send(tseg{flags: fACK, seq: h.snd, ack: una + n, win: 65535})
	h.rcv = una + n
	h.sent()
	write(h.so, []byte("more"), 0)
	time.Sleep(time.Second)
	segs := h.sent()
	if len(segs) == 0 || segs[0].Seq() != h.rcv || string(segs[0].Payload()) != "more" {
		t.Fatalf("after everything was acknowledged: %v, want %q at %d", segs, "more", h.rcv)
	}
}

// payloadOf joins the segments' data.
func payloadOf(segs []header.TCP) []byte {
	var b []byte
	for _, g := range segs {
		b = append(b, g.Payload()...)
	}
	return b
}
