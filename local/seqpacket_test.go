package local_test

import (
	"bytes"
	"errors"
	"fmt"
	"syscall"
	"testing"

	"github.com/bsdnet/bsdnet/socket"
)

// FreeBSD 14 seqpacket: each send is one record (sbappendaddr_nospacecheck
// with sun_noname). A read returns at most one record; a short read
// truncates it with MSG_TRUNC and the rest is gone; MSG_EOR sent comes back.
func TestSeqpacketRecords(t *testing.T) {
	for _, k := range connKinds[2:] {
		t.Run(k.name, func(t *testing.T) {
			e := newEnv(t)
			a, b := k.make(e, k.typ)
			for _, r := range []string{"alpha", "be", "gamma-long-record"} {
				if n, err := send(a, []byte(r), 0); err != nil || n != len(r) {
					t.Fatalf("send %q = %d, %v", r, n, err)
				}
			}
			// A large buffer still gets one record.
			if d, f, err := recv(b, 100, 0); err != nil || string(d) != "alpha" || f&socket.MSG_TRUNC != 0 {
				t.Fatalf("record 1 = %q %#x, %v", d, f, err)
			}
			if d, f, err := recv(b, 100, 0); err != nil || string(d) != "be" || f&socket.MSG_TRUNC != 0 {
				t.Fatalf("record 2 = %q %#x, %v", d, f, err)
			}
			d, f, err := recv(b, 5, 0)
			if err != nil || string(d) != "gamma" || f&socket.MSG_TRUNC == 0 {
				t.Fatalf("short read = %q %#x, %v; want gamma with MSG_TRUNC", d, f, err)
			}
			expectNothing(t, b)
			// MSG_TRUNC asks for the real length.
			send(a, []byte("0123456789"), 0)
			m, err := recvmsg(b, 4, socket.MSG_TRUNC)
			if err != nil || m.n != 10 || string(m.data) != "0123" || m.flags&socket.MSG_TRUNC == 0 {
				t.Fatalf("recv(4, MSG_TRUNC) = %d %q %#x, %v", m.n, m.data, m.flags, err)
			}
			// MSG_EOR from the sender is returned.
			send(a, []byte("eor"), socket.MSG_EOR)
			if d, f, err := recv(b, 100, 0); err != nil || string(d) != "eor" || f&socket.MSG_EOR == 0 {
				t.Fatalf("record sent with MSG_EOR = %q %#x, %v; want MSG_EOR", d, f, err)
			}
			// Peek leaves the record whole.
			send(a, []byte("peeked"), 0)
			if d, f, err := recv(b, 3, socket.MSG_PEEK); err != nil || string(d) != "pee" || f&socket.MSG_TRUNC == 0 {
				t.Fatalf("peek = %q %#x, %v", d, f, err)
			}
			if d, _, err := recv(b, 100, 0); err != nil || string(d) != "peeked" {
				t.Fatalf("after peek = %q, %v", d, err)
			}
		})
	}
}

// Zero-length records exist on their own.
func TestSeqpacketZeroRecord(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_SEQPACKET)
	send(a, nil, 0)
	send(a, []byte("after"), 0)
	m, err := recvmsg(b, 100, socket.MSG_DONTWAIT)
	if err != nil || m.n != 0 {
		t.Fatalf("zero-length record = %d %q, %v", m.n, m.data, err)
	}
	if d, _, err := recv(b, 100, socket.MSG_DONTWAIT); err != nil || string(d) != "after" {
		t.Fatalf("next record = %q, %v", d, err)
	}
}

// Boundaries hold when two senders interleave (both directions at once,
// several writers on one socket) and the reader lags.
func TestSeqpacketInterleaved(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_SEQPACKET)
	const writers, each = 4, 200
	done := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func(w int) {
			for i := 0; i < each; i++ {
				rec := seqRecord(w, i)
				if _, err := send(a, rec, 0); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}(w)
	}
	counts := make([]int, writers)
	for n := 0; n < writers*each; n++ {
		d, f, err := recv(b, 1000, 0)
		if err != nil {
			t.Fatal(err)
		}
		if f&socket.MSG_TRUNC != 0 || len(d) == 0 {
			t.Fatalf("record %d: %d bytes flags %#x", n, len(d), f)
		}
		w := int(d[0] - 'a')
		if w < 0 || w >= writers {
			t.Fatalf("record %q from no writer", d)
		}
		i := counts[w]
		want := seqRecord(w, i)
		if !bytes.Equal(d, want) {
			t.Fatalf("writer %d record %d: got %d bytes %.12q, want %d bytes %.12q", w, i, len(d), d, len(want), want)
		}
		counts[w]++
	}
	for w := 0; w < writers; w++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// unix_seqpacket rcvbuf_oversized: a record larger than the receiver's
// buffer is accepted whole (no space check at the receiver) and read whole;
// records that together exceed the sender's buffer pass when read as they
// come. A record larger than the send buffer is EMSGSIZE.
func TestSeqpacketLargeRecords(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_SEQPACKET)
	if err := b.SetOptInt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096); err != nil {
		t.Fatal(err)
	}
	a.SetNonblocking(true)
	big := bytes.Repeat([]byte("0123456789abcdef"), 1250) // 20000 bytes
	if n, err := send(a, big, 0); err != nil || n != len(big) {
		t.Fatalf("record larger than the receive buffer = %d, %v", n, err)
	}
	if d, f, err := recv(b, 30000, 0); err != nil || !bytes.Equal(d, big) || f&socket.MSG_TRUNC != 0 {
		t.Fatalf("read %d bytes flags %#x, %v; want the whole record", len(d), f, err)
	}
	// Many records totalling more than the send buffer, read one by one.
	hiwat := a.Snd.Hiwat()
	rec := make([]byte, 1024)
	for i := 0; i < 2*hiwat/len(rec); i++ {
		rec[0] = byte(i)
		if n, err := send(a, rec, 0); err != nil || n != len(rec) {
			t.Fatalf("record %d = %d, %v", i, n, err)
		}
		if d, _, err := recv(b, 2048, socket.MSG_WAITALL); err != nil || len(d) != len(rec) || d[0] != byte(i) {
			t.Fatalf("read record %d: %d bytes, %v", i, len(d), err)
		}
	}
	if _, err := send(a, make([]byte, hiwat+1), 0); !errors.Is(err, syscall.EMSGSIZE) {
		t.Fatalf("record over the send buffer = %v, want EMSGSIZE", err)
	}
	// An atomic send never goes out partly: a stopped sender gets
	// EWOULDBLOCK with nothing sent.
	for {
		n, err := send(a, make([]byte, 8192), 0)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if n != 0 {
				t.Fatalf("atomic send partly sent: %d", n)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Peer close on seqpacket: the remaining records, then EOF; sends EPIPE.
// (Covered for both types by TestPeerClose; here with records left whole.)
func TestSeqpacketPeerClose(t *testing.T) {
	e := newEnv(t)
	a, b := e.connected(socket.SOCK_SEQPACKET, "/spc")
	send(a, []byte("r1"), 0)
	send(a, []byte("r2"), 0)
	a.Close()
	for _, want := range []string{"r1", "r2", ""} {
		if d, _, err := recv(b, 100, 0); err != nil || string(d) != want {
			t.Fatalf("recv = %q, %v; want %q", d, err, want)
		}
	}
	if _, err := send(b, []byte("x"), 0); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("send = %v, want EPIPE", err)
	}
}

// seqRecord is writer w's record i: its letter, the number, padding.
func seqRecord(w, i int) []byte {
	rec := bytes.Repeat([]byte{byte('a' + w)}, 10+(i*37+w)%500)
	copy(rec[1:], fmt.Sprintf("%d:", i))
	return rec
}
