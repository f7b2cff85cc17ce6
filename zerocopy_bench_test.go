package bsdnet_test

import (
	"io"
	"testing"
	"time"

	"github.com/bsdnet/bsdnet"
)

// The fast paths of io.Copy beside a plain copy through a 32 KiB buffer
// (what io.Copy does without them), in the same run:
//
//	Copy/Conn-to-Conn   a relay between two connections: WriteTo moves
//	                    mbuf chains (no copy) vs Read + Write (two)
//	Copy/Reader-to-Conn ReadFrom a reader (a file in the page cache, say):
//	                    into a pooled cluster (one copy) vs two
//	Copy/Conn-to-Writer WriteTo a writer: the received segments in place
//	                    (one copy) vs two
//
// over "unix" and "tcp" on the loopback. "fast" is the fast path and
// "plain" hides it; the two run interleaved, batch by batch, on two
// setups, and speedup-x is plain's time over fast's.

const copyChunk = 64 << 10

type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

// patternReader fills each read from a pattern, as a file read from the
// page cache copies its bytes.
type patternReader struct{ pat []byte }

func (r patternReader) Read(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		n += copy(b[n:], r.pat)
	}
	return n, nil
}

// sinkWriter copies what it is given into its buffer, as a write to a file
// in the page cache does.
type sinkWriter struct{ buf []byte }

func (w sinkWriter) Write(b []byte) (int, error) {
	for n := 0; n < len(b); {
		n += copy(w.buf, b[n:])
	}
	return len(b), nil
}

// plainCopy is io.Copy without the fast paths.
func plainCopy(dst io.Writer, src io.Reader, buf []byte) (int64, error) {
	return io.CopyBuffer(onlyWriter{dst}, onlyReader{src}, buf)
}

// reportSpeedup reports how many times faster the fast path ran.
func reportSpeedup(b *testing.B, tFast, tPlain time.Duration) {
	b.ReportMetric(float64(tPlain)/float64(tFast), "speedup-x")
}

// A relay: what is written into in comes out of out, copied from from to
// to by a goroutine.
type copyRelay struct {
	in  *bsdnet.Conn
	got chan struct{} // a token per copyChunk bytes out
}

func newCopyRelay(b *testing.B, nw string, fast bool) (copyRelay, func()) {
	in, from, stop1 := bsdnetConnPair(b, nw)
	to, out, stop2 := bsdnetConnPair(b, nw)
	got := make(chan struct{}, adapterBatch)
	go drain(out, copyChunk, copyChunk, got)
	go func() {
		if fast {
			io.Copy(to, from)
		} else {
			plainCopy(to, from, make([]byte, 32<<10))
		}
	}()
	return copyRelay{in, got}, func() { stop1(); stop2() }
}

// pass writes n chunks into the relay and waits until they are out.
func (r copyRelay) pass(b *testing.B, buf []byte, n int) {
	for range n {
		if _, err := r.in.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	for range n {
		<-r.got
	}
}

func BenchmarkCopyConnToConn(b *testing.B) {
	for _, nw := range []string{"unix", "tcp"} {
		b.Run(nw, func(b *testing.B) {
			fast, stop1 := newCopyRelay(b, nw, true)
			defer stop1()
			plain, stop2 := newCopyRelay(b, nw, false)
			defer stop2()
			buf := make([]byte, copyChunk)
			b.ReportAllocs()
			tFast, tPlain := interleave(b, copyChunk, "fast", "plain",
				func(n int) { fast.pass(b, buf, n) },
				func(n int) { plain.pass(b, buf, n) })
			reportSpeedup(b, tFast, tPlain)
		})
	}
}

func BenchmarkCopyReaderToConn(b *testing.B) {
	for _, nw := range []string{"unix", "tcp"} {
		b.Run(nw, func(b *testing.B) {
			fc, fs, stop1 := bsdnetConnPair(b, nw)
			defer stop1()
			pc, ps, stop2 := bsdnetConnPair(b, nw)
			defer stop2()
			fgot, pgot := make(chan struct{}, adapterBatch), make(chan struct{}, adapterBatch)
			go drain(fs, copyChunk, copyChunk, fgot)
			go drain(ps, copyChunk, copyChunk, pgot)
			pat := patternReader{make([]byte, copyChunk)}
			buf := make([]byte, 32<<10)
			run := func(fast bool, c *bsdnet.Conn, got chan struct{}) func(n int) {
				return func(n int) {
					src := &io.LimitedReader{R: pat, N: int64(n) * copyChunk}
					var err error
					if fast {
						_, err = c.ReadFrom(src)
					} else {
						_, err = plainCopy(c, src, buf)
					}
					if err != nil {
						b.Fatal(err)
					}
					for range n {
						<-got
					}
				}
			}
			b.ReportAllocs()
			tFast, tPlain := interleave(b, copyChunk, "fast", "plain", run(true, fc, fgot), run(false, pc, pgot))
			reportSpeedup(b, tFast, tPlain)
		})
	}
}

// signalWriter is a sinkWriter that sends a token on got per copyChunk
// bytes.
type signalWriter struct {
	sinkWriter
	n   *int
	got chan struct{}
}

func (w signalWriter) Write(b []byte) (int, error) {
	w.sinkWriter.Write(b)
	for *w.n += len(b); *w.n >= copyChunk; *w.n -= copyChunk {
		w.got <- struct{}{}
	}
	return len(b), nil
}

func BenchmarkCopyConnToWriter(b *testing.B) {
	for _, nw := range []string{"unix", "tcp"} {
		b.Run(nw, func(b *testing.B) {
			sink := func(fast bool) (*bsdnet.Conn, chan struct{}, func()) {
				c, s, stop := bsdnetConnPair(b, nw)
				got := make(chan struct{}, adapterBatch)
				w := signalWriter{sinkWriter{make([]byte, copyChunk)}, new(int), got}
				go func() {
					if fast {
						s.WriteTo(w)
					} else {
						plainCopy(w, s, make([]byte, 32<<10))
					}
				}()
				return c, got, stop
			}
			fc, fgot, stop1 := sink(true)
			defer stop1()
			pc, pgot, stop2 := sink(false)
			defer stop2()
			buf := make([]byte, copyChunk)
			run := func(c *bsdnet.Conn, got chan struct{}) func(n int) {
				return func(n int) {
					for range n {
						if _, err := c.Write(buf); err != nil {
							b.Fatal(err)
						}
					}
					for range n {
						<-got
					}
				}
			}
			b.ReportAllocs()
			tFast, tPlain := interleave(b, copyChunk, "fast", "plain", run(fc, fgot), run(pc, pgot))
			reportSpeedup(b, tFast, tPlain)
		})
	}
}

var (
	_ io.WriterTo   = (*bsdnet.Conn)(nil)
	_ io.ReaderFrom = (*bsdnet.Conn)(nil)
)
