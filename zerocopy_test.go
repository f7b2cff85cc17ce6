package bsdnet_test

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"testing/iotest"
	"testing/synctest"
	"time"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/link"
)

// randomBytes returns n bytes that a seed fixes.
func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// streamPair returns a connected pair of the network on st: "unix" or
// "tcp" (over the loopback).
func streamPair(t testing.TB, st *bsdnet.Stack, network, name string) (client, server *bsdnet.Conn) {
	t.Helper()
	if network == "tcp" {
		return tcpPair(t, st, "127.0.0.1:0")
	}
	l, err := st.Listen(network, "/"+name)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := st.Dial(network, "/"+name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Accept()
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		s.Close()
	})
	return c.(*bsdnet.Conn), s.(*bsdnet.Conn)
}

// relay is a proxy between two connections: src1 → dst1 | copy | src2 →
// dst2. It returns the four ends.
type relay struct{ in, from, to, out *bsdnet.Conn }

func newRelay(t testing.TB, st1, st2 *bsdnet.Stack, nw1, nw2 string) relay {
	in, from := streamPair(t, st1, nw1, "r1")
	to, out := streamPair(t, st2, nw2, "r2")
	return relay{in, from, to, out}
}

// run sends data into the relay, copies with cp in a goroutine, reads all
// that comes out and returns it with cp's count and error.
func (r relay) run(t testing.TB, data []byte, cp func(dst, src *bsdnet.Conn) (int64, error)) ([]byte, int64, error) {
	t.Helper()
	var n int64
	var cerr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		n, cerr = cp(r.to, r.from)
		r.to.CloseWrite()
	}()
	go func() {
		defer wg.Done()
		r.in.Write(data)
		r.in.CloseWrite()
	}()
	got, err := io.ReadAll(r.out)
	wg.Wait()
	if err != nil {
		t.Fatalf("reading the relay's output: %v", err)
	}
	return got, n, cerr
}

// io.Copy between two Conns takes WriteTo, which moves mbuf chains, and
// delivers every byte in order: within a stack and between two, for unix
// and TCP, TCP across a wire with loss included.
func TestCopyBetweenConns(t *testing.T) {
	data := randomBytes(3<<20+12345, 1)
	tests := []struct {
		name     string
		nw1, nw2 string
		wire     *link.Faults // nil: one stack; else two hosts on a wire
	}{
		{"unix to unix", "unix", "unix", nil},
		{"tcp to tcp", "tcp", "tcp", nil},
		{"unix to tcp", "unix", "tcp", nil},
		{"tcp to unix", "tcp", "unix", nil},
		{"tcp across a wire to tcp", "tcp", "tcp", &link.Faults{}},
		{"tcp across a lossy wire to tcp", "tcp", "tcp", &link.Faults{Delay: time.Millisecond, Loss: 0.01}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var r relay
				if tt.wire == nil {
					st := bsdnet.NewStack()
					defer st.Close()
					r = newRelay(t, st, st, tt.nw1, tt.nw2)
				} else {
					r = wireRelay(t, *tt.wire)
				}
				got, n, err := r.run(t, data, func(dst, src *bsdnet.Conn) (int64, error) { return io.Copy(dst, src) })
				if err != nil {
					t.Fatalf("io.Copy: %v", err)
				}
				if n != int64(len(data)) || !bytes.Equal(got, data) {
					t.Fatalf("io.Copy moved %d bytes and %d came out, want %d, identical", n, len(got), len(data))
				}
			})
		})
	}
}

// wireRelay is a relay whose first connection crosses a wire with faults
// f between two hosts; the second is on a third stack's loopback, so the
// chains move between stacks.
func wireRelay(t testing.TB, f link.Faults) relay {
	t.Helper()
	in, from, _ := wirePair(t, 7, f)
	st := bsdnet.NewStack()
	t.Cleanup(func() { st.Close() })
	to, out := streamPair(t, st, "tcp", "")
	return relay{in, from, to, out}
}

// ReadFrom from an *io.LimitedReader over a Conn moves exactly N bytes
// (chains are cut at the limit) and lowers N; the rest stays to be read.
func TestReadFromLimitedConn(t *testing.T) {
	for _, nw := range []string{"unix", "tcp"} {
		t.Run(nw, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := bsdnet.NewStack()
				defer st.Close()
				in, from := streamPair(t, st, nw, "a")
				to, out := streamPair(t, st, nw, "b")
				data := randomBytes(200000, 2)
				go func() {
					in.Write(data)
					in.CloseWrite()
				}()
				const limit = 123457
				lr := &io.LimitedReader{R: from, N: limit}
				done := make(chan []byte)
				go func() {
					b, _ := io.ReadAll(out)
					done <- b
				}()
				n, err := to.ReadFrom(lr)
				if err != nil || n != limit || lr.N != 0 {
					t.Fatalf("ReadFrom: %d, %v, N left %d; want %d, nil, 0", n, err, lr.N, limit)
				}
				to.CloseWrite()
				if got := <-done; !bytes.Equal(got, data[:limit]) {
					t.Fatalf("%d bytes came out, want the first %d", len(got), limit)
				}
				rest, err := io.ReadAll(from)
				if err != nil || !bytes.Equal(rest, data[limit:]) {
					t.Fatalf("the source kept %d bytes (%v), want the last %d", len(rest), err, len(data)-limit)
				}
			})
		})
	}
}

// To a writer that is not a Conn, WriteTo writes the received segments;
// from a reader that is not one, ReadFrom reads into clusters, whatever
// sizes the reader returns. Both byte-exact.
func TestCopyWithOtherReadersAndWriters(t *testing.T) {
	data := randomBytes(1<<20+777, 3)
	readers := map[string]func() io.Reader{
		"whole":    func() io.Reader { return io.LimitReader(bytes.NewReader(data), int64(len(data))) },
		"one byte": func() io.Reader { return iotest.OneByteReader(bytes.NewReader(data[:5000])) },
		"half":     func() io.Reader { return iotest.HalfReader(bytes.NewReader(data)) },
		"data+EOF": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(data)) },
	}
	for _, nw := range []string{"unix", "tcp"} {
		for name, mk := range readers {
			t.Run(nw+"/"+name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					st := bsdnet.NewStack()
					defer st.Close()
					c, s := streamPair(t, st, nw, "x")
					r := mk()
					want, _ := io.ReadAll(mk())
					var buf bytes.Buffer
					done := make(chan error)
					go func() {
						n, err := s.WriteTo(&buf)
						if err == nil && n != int64(buf.Len()) {
							err = errors.New("WriteTo's count is not what the writer got")
						}
						done <- err
					}()
					n, err := c.ReadFrom(r)
					if err != nil || n != int64(len(want)) {
						t.Fatalf("ReadFrom: %d, %v; want %d, nil", n, err, len(want))
					}
					c.CloseWrite()
					if err := <-done; err != nil {
						t.Fatalf("WriteTo: %v", err)
					}
					if !bytes.Equal(buf.Bytes(), want) {
						t.Fatalf("%d bytes came out, want %d identical", buf.Len(), len(want))
					}
				})
			})
		}
	}
}

// A new write deadline set while a chain waits for room in the send
// buffer wakes the send, which sleeps again with the same bytes: nothing
// is lost, although the socket layer consumes a chain whose send fails.
func TestSpliceDeadlineChangeLosesNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := bsdnet.NewStack()
		defer st.Close()
		r := newRelay(t, st, st, "unix", "unix")
		data := randomBytes(1<<20, 4)
		go func() {
			r.in.Write(data)
			r.in.CloseWrite()
		}()
		done := make(chan error)
		go func() {
			_, err := io.Copy(r.to, r.from)
			r.to.CloseWrite()
			done <- err
		}()
		synctest.Wait() // the copy is blocked: nobody reads out
		for range 3 {
			r.to.SetWriteDeadline(time.Now().Add(time.Hour))
			synctest.Wait()
		}
		r.to.SetWriteDeadline(time.Time{})
		got, err := io.ReadAll(r.out)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes came out (%v), want %d identical", len(got), err, len(data))
		}
		if err := <-done; err != nil {
			t.Fatalf("io.Copy: %v", err)
		}
	})
}

// The fast paths fail as Go's do: a *net.OpError "writeto" or "readfrom",
// around the other side's own error when that side failed.
func TestCopyErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := bsdnet.NewStack()
		defer st.Close()
		r := newRelay(t, st, st, "tcp", "tcp")

		// The source's read deadline ends WriteTo with a timeout.
		r.in.Write([]byte("hello"))
		r.from.SetReadDeadline(time.Now().Add(time.Second))
		n, err := r.from.WriteTo(r.to)
		if n != 5 {
			t.Errorf("WriteTo moved %d bytes before its deadline, want 5", n)
		}
		checkOpError(t, err, "writeto")
		checkTimeout(t, err)
		r.from.SetReadDeadline(time.Time{})

		// A closed destination: the error is the destination's write error.
		r.in.Write([]byte("more"))
		r.to.Close()
		_, err = r.from.WriteTo(r.to)
		oe := checkOpError(t, err, "writeto")
		if inner := checkOpError(t, oe.Err, "write"); !errors.Is(inner, net.ErrClosed) {
			t.Errorf("WriteTo to a closed Conn: %v, want net.ErrClosed inside", err)
		}

		// ReadFrom from a closed source: the source's read error.
		r.from.Close()
		_, err = r.out.ReadFrom(r.from)
		oe = checkOpError(t, err, "readfrom")
		if inner := checkOpError(t, oe.Err, "read"); !errors.Is(inner, net.ErrClosed) {
			t.Errorf("ReadFrom a closed Conn: %v, want net.ErrClosed inside", err)
		}

		// A reader's error comes back wrapped once.
		boom := errors.New("boom")
		_, err = r.out.ReadFrom(iotest.ErrReader(boom))
		checkOpError(t, err, "readfrom")
		if !errors.Is(err, boom) {
			t.Errorf("ReadFrom a failing reader: %v, want boom inside", err)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%v is not a timeout", err)
		}
	})
}

// Seqpacket connections keep their records through io.Copy.
func TestCopySeqpacketKeepsRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := bsdnet.NewStack()
		defer st.Close()
		r := newRelay(t, st, st, "unixpacket", "unixpacket")
		records := []string{"one", "two two", "three three three"}
		for _, rec := range records {
			r.in.Write([]byte(rec))
		}
		r.in.Close()
		if _, err := io.Copy(r.to, r.from); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 100)
		for _, want := range records {
			n, err := r.out.Read(buf)
			if err != nil || string(buf[:n]) != want {
				t.Fatalf("record %q, %v; want %q", buf[:n], err, want)
			}
		}
	})
}
