package mbuf

import (
	"bytes"
	"fmt"
	"testing"
)

// pattern returns n bytes that differ from their neighbours, so a misplaced
// byte shows.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// chain builds a packet from data cut into segments of the given lengths
// (the last segment takes what is left), one cluster per segment, with
// M_PKTHDR and PktLen on the head.
func chain(p *Pool, data []byte, segs ...int) *Mbuf {
	var head, tail *Mbuf
	add := func(b []byte) {
		m := p.Get(MT_DATA, len(b))
		copy(m.Extend(len(b)), b)
		if head == nil {
			head = m
		} else {
			tail.Next = m
		}
		tail = m
	}
	for _, n := range segs {
		n = min(n, len(data))
		add(data[:n])
		data = data[n:]
	}
	if head == nil || len(data) > 0 {
		add(data)
	}
	head.Flags |= M_PKTHDR
	head.PktLen = Length(head)
	return head
}

// lens returns the length of each mbuf of the chain.
func lens(m *Mbuf) []int {
	var out []int
	for ; m != nil; m = m.Next {
		out = append(out, m.Len())
	}
	return out
}

// checkPkt checks that m is a packet header whose PktLen is its length and
// whose bytes are want.
func checkPkt(t *testing.T, what string, m *Mbuf, want []byte) {
	t.Helper()
	if got := Bytes(m); !bytes.Equal(got, want) {
		t.Errorf("%s: bytes %v, want %v", what, got, want)
	}
	if Length(m) != len(want) {
		t.Errorf("%s: Length %d, want %d", what, Length(m), len(want))
	}
	if m == nil {
		return
	}
	if m.Flags&M_PKTHDR == 0 {
		t.Errorf("%s: head lacks M_PKTHDR: %v", what, m)
	} else if m.PktLen != len(want) {
		t.Errorf("%s: PktLen %d, want %d (%v)", what, m.PktLen, len(want), m)
	}
	for n := m.Next; n != nil; n = n.Next {
		if n.Flags&M_PKTHDR != 0 {
			t.Errorf("%s: M_PKTHDR past the head: %v", what, m)
		}
	}
}

func refs(m *Mbuf) int32 { return m.cl.refs.Load() }

// pools runs f with a real pool and with the nil pool.
func pools(t *testing.T, f func(t *testing.T, p *Pool)) {
	t.Run("pool", func(t *testing.T) { f(t, NewPool()) })
	t.Run("nil", func(t *testing.T) { f(t, nil) })
}

func TestTypeString(t *testing.T) {
	for _, tc := range []struct {
		t    Type
		want string
	}{
		{MT_DATA, "MT_DATA"}, {MT_SONAME, "MT_SONAME"}, {MT_CONTROL, "MT_CONTROL"},
		{MT_OOBDATA, "MT_OOBDATA"}, {Type(99), "MT_99"},
	} {
		if got := tc.t.String(); got != tc.want {
			t.Errorf("%d.String() = %q, want %q", uint8(tc.t), got, tc.want)
		}
	}
}

func TestGet(t *testing.T) {
	pools(t, func(t *testing.T, p *Pool) {
		for _, tc := range []struct {
			size, room int
		}{
			{0, MSMALL}, {1, MSMALL}, {MSMALL, MSMALL}, {MSMALL + 1, MCLBYTES},
			{MCLBYTES, MCLBYTES}, {MCLBYTES + 1, MJUMPAGE}, {MJUMPAGE, MJUMPAGE},
			{MJUMPAGE + 1, MJUM16BYTES}, {MJUM16BYTES + 1, MJUM64BYTES},
			{MJUM64BYTES, MJUM64BYTES}, {MJUM64BYTES + 1, MJUM64BYTES + 1},
		} {
			m := p.Get(MT_OOBDATA, tc.size)
			if m.Type != MT_OOBDATA || m.Len() != 0 || m.Flags != 0 || m.Next != nil {
				t.Errorf("Get(%d) = %v flags %#x", tc.size, m, m.Flags)
			}
			if !m.Writable() || m.Leading() != 0 || m.Trailing() != tc.room {
				t.Errorf("Get(%d): writable %v leading %d trailing %d, want true 0 %d",
					tc.size, m.Writable(), m.Leading(), m.Trailing(), tc.room)
			}
			if m.Size() != MSIZE+tc.room {
				t.Errorf("Get(%d).Size() = %d, want %d", tc.size, m.Size(), MSIZE+tc.room)
			}
			if len(m.Data()) != 0 {
				t.Errorf("Get(%d).Data() = %v", tc.size, m.Data())
			}
			m.Free()
		}
	})
}

func TestGetHdr(t *testing.T) {
	pools(t, func(t *testing.T, p *Pool) {
		for _, tc := range []struct {
			size, leading, room int
		}{
			{0, 0, MSMALL}, {100, 56, MSMALL}, {200, 100, MCLBYTES}, {1500, 64, MCLBYTES},
			{MCLBYTES, 1, MJUMPAGE}, {MJUM64BYTES - 16, 16, MJUM64BYTES},
		} {
			m := p.GetHdr(MT_DATA, tc.size, tc.leading)
			if m.Flags != M_PKTHDR || m.PktLen != 0 || m.Len() != 0 {
				t.Errorf("GetHdr(%d, %d) = %v", tc.size, tc.leading, m)
			}
			if m.Leading() != tc.leading || m.Trailing() != tc.room-tc.leading {
				t.Errorf("GetHdr(%d, %d): leading %d trailing %d, want %d %d", tc.size, tc.leading,
					m.Leading(), m.Trailing(), tc.leading, tc.room-tc.leading)
			}
			m.Free()
		}
	})
}

func TestGetObj(t *testing.T) {
	pools(t, func(t *testing.T, p *Pool) {
		m := p.GetObj(MT_SONAME, "addr")
		if m.Obj != "addr" || m.Type != MT_SONAME || m.Len() != 0 || m.Data() != nil {
			t.Fatalf("GetObj = %v obj %v", m, m.Obj)
		}
		if m.Writable() || m.Leading() != 0 || m.Trailing() != 0 || m.Size() != MSIZE {
			t.Errorf("GetObj: writable %v leading %d trailing %d size %d",
				m.Writable(), m.Leading(), m.Trailing(), m.Size())
		}
		if n, size := Count(m); n != 1 || size != MSIZE {
			t.Errorf("Count = %d, %d", n, size)
		}
		FreeChain(m)
	})
}

func TestCopyIn(t *testing.T) {
	pools(t, func(t *testing.T, p *Pool) {
		for _, n := range []int{0, 1, 100, MSMALL, MCLBYTES, 9000, MaxCluster - 16, MaxCluster,
			MaxCluster + 1, 3*MaxCluster + 5} {
			for _, leading := range []int{0, 16, 100} {
				name := fmt.Sprintf("len%d/lead%d", n, leading)
				data := pattern(n)
				m := p.CopyIn(MT_DATA, data, leading)
				checkPkt(t, name, m, data)
				if m.Leading() != leading {
					t.Errorf("%s: leading %d", name, m.Leading())
				}
				mbufs := 0
				for c := m; c != nil; c = c.Next {
					mbufs++
					if c.off+c.len > MaxCluster {
						t.Errorf("%s: mbuf of %d bytes at offset %d beyond MaxCluster", name, c.len, c.off)
					}
					if c.Next != nil && c.Trailing() != 0 {
						t.Errorf("%s: inner mbuf with %d trailing bytes: %v", name, c.Trailing(), lens(m))
					}
					if c.Type != MT_DATA || !c.Writable() {
						t.Errorf("%s: mbuf type %v writable %v", name, c.Type, c.Writable())
					}
				}
				if want := max(1, (n+leading+MaxCluster-1)/MaxCluster); mbufs != want {
					t.Errorf("%s: %d mbufs %v, want %d", name, mbufs, lens(m), want)
				}
				if len(data) > 0 && &m.Data()[0] == &data[0] {
					t.Errorf("%s: CopyIn aliases its input", name)
				}
				FreeChain(m)
			}
		}
	})
}

func TestAppend(t *testing.T) {
	pools(t, func(t *testing.T, p *Pool) {
		for _, tc := range []struct {
			name   string
			start  int    // bytes in the starting single-mbuf chain, -1 for nil
			add    int    // bytes appended
			mbufs  int    // mbufs afterwards
			shared bool   // the start is shared with a Copy
			typ    Type   // type of the start
			want   []Type // types afterwards
		}{
			{name: "nil", start: -1, add: 10, mbufs: 1},
			{name: "fits", start: 10, add: 20, mbufs: 1},
			{name: "fills", start: 10, add: MSMALL - 10, mbufs: 1},
			{name: "overflows", start: 10, add: MSMALL, mbufs: 2},
			{name: "large", start: 100, add: MaxCluster + 1, mbufs: 2},
			{name: "larger", start: 100, add: 2 * MaxCluster, mbufs: 3},
			{name: "empty", start: 10, add: 0, mbufs: 1},
			{name: "shared", start: 10, add: 5, mbufs: 2, shared: true},
			{name: "oob", start: 10, add: MSMALL, mbufs: 2, typ: MT_OOBDATA},
		} {
			t.Run(tc.name, func(t *testing.T) {
				data := pattern(max(tc.start, 0) + tc.add)
				var m, cp *Mbuf
				if tc.start >= 0 {
					m = p.CopyIn(MT_DATA, data[:tc.start], 0)
					if tc.typ != 0 {
						m.Type = tc.typ
					}
					if tc.shared {
						cp = Copy(m, 0, -1)
					}
				}
				m = p.Append(m, data[max(tc.start, 0):])
				checkPkt(t, "after append", m, data)
				if got := len(lens(m)); got != tc.mbufs {
					t.Errorf("%d mbufs %v, want %d", got, lens(m), tc.mbufs)
				}
				if tc.typ != 0 {
					for c := m; c != nil; c = c.Next {
						if c.Type != tc.typ {
							t.Errorf("appended mbuf of type %v, want %v", c.Type, tc.typ)
						}
					}
				}
				if cp != nil {
					if got := Bytes(cp); !bytes.Equal(got, data[:tc.start]) || cp.Len() != tc.start {
						t.Errorf("shared copy changed: %v", got)
					}
					FreeChain(cp)
				}
				FreeChain(m)
			})
		}
	})
}

func TestPrepend(t *testing.T) {
	pools(t, func(t *testing.T, p *Pool) {
		for _, tc := range []struct {
			name    string
			leading int
			n       int
			shared  bool
			sameHd  bool
		}{
			{name: "in-leading", leading: 16, n: 16, sameHd: true},
			{name: "part-leading", leading: 16, n: 8, sameHd: true},
			{name: "too-big", leading: 16, n: 17},
			{name: "no-leading", leading: 0, n: 4},
			{name: "shared", leading: 16, n: 8, shared: true},
			{name: "zero", leading: 0, n: 0, sameHd: true},
			{name: "big", leading: 0, n: MCLBYTES + 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				data := pattern(50)
				m := p.CopyIn(MT_DATA, data, tc.leading)
				var cp *Mbuf
				if tc.shared {
					cp = Copy(m, 0, -1)
				}
				h := p.Prepend(m, tc.n)
				if (h == m) != tc.sameHd {
					t.Errorf("new head %v, want same head %v", h != m, tc.sameHd)
				}
				if h.Len() < tc.n {
					t.Fatalf("head has %d bytes, want room for %d", h.Len(), tc.n)
				}
				hdr := pattern(tc.n + 3)[3:]
				copy(h.Data()[:tc.n], hdr)
				checkPkt(t, "after prepend", h, append(hdr, data...))
				if cp != nil {
					if !bytes.Equal(Bytes(cp), data) {
						t.Errorf("shared copy changed: %v", Bytes(cp))
					}
					FreeChain(cp)
				}
				FreeChain(h)
			})
		}
	})
}

func TestWrap(t *testing.T) {
	pools(t, func(t *testing.T, p *Pool) {
		b := pattern(300)
		m := p.Wrap(MT_DATA, b)
		if m.Len() != len(b) || &m.Data()[0] != &b[0] || !m.Writable() {
			t.Fatalf("Wrap: len %d aliases %v writable %v", m.Len(), &m.Data()[0] == &b[0], m.Writable())
		}
		if m.Trailing() != 0 || m.Leading() != 0 {
			t.Errorf("Wrap: leading %d trailing %d", m.Leading(), m.Trailing())
		}
		// Appending cannot write past the caller's slice.
		m.Flags |= M_PKTHDR
		m.PktLen = len(b)
		m = p.Append(m, []byte{1, 2, 3})
		checkPkt(t, "wrap+append", m, append(pattern(300), 1, 2, 3))
		if Wrapped := m.cl.class; Wrapped != -1 {
			t.Errorf("wrapped cluster has pool class %d", Wrapped)
		}
		// A wrapped slice is never handed out again by the pool.
		FreeChain(m)
		for range 10 {
			g := p.Get(MT_DATA, len(b))
			if &g.cl.b[0] == &b[0] {
				t.Fatal("pool recycled a wrapped slice")
			}
			defer g.Free()
		}
		empty := p.Wrap(MT_DATA, nil)
		if empty.Len() != 0 || len(empty.Data()) != 0 {
			t.Errorf("Wrap(nil): %v", empty)
		}
		empty.Free()
	})
}

// splitChains are the multi-mbuf layouts that Split, Copy, Adj, and Pullup
// are checked on: segment lengths, zero-length mbufs included.
var splitChains = [][]int{
	{10},
	{0},
	{1, 1, 1},
	{3, 0, 5, 1, 7},
	{0, 4, 0, 0, 4, 0},
	{MSMALL, MSMALL - 1, 2},
	{5, 200, 1, 1},
}

func segTotal(segs []int) int {
	n := 0
	for _, s := range segs {
		n += s
	}
	return n
}

func TestSplit(t *testing.T) {
	pools(t, func(t *testing.T, p *Pool) {
		for _, segs := range splitChains {
			total := segTotal(segs)
			for off := -1; off <= total+1; off++ {
				name := fmt.Sprintf("%v@%d", segs, off)
				data := pattern(total)
				m := chain(p, data, segs...)
				m.Last().SetEOR(true)
				n := Split(m, off)
				if off < 0 || off >= total {
					if n != nil {
						t.Errorf("%s: Split = %v, want nil", name, n)
					}
					checkPkt(t, name+" unsplit", m, data)
					if m.Last().Flags&M_EOR == 0 {
						t.Errorf("%s: unsplit chain lost M_EOR", name)
					}
					FreeChain(m)
					continue
				}
				if n == nil {
					t.Fatalf("%s: Split = nil", name)
				}
				checkPkt(t, name+" front", m, data[:off])
				checkPkt(t, name+" back", n, data[off:])
				for c := m; c != nil; c = c.Next {
					if c.Flags&M_EOR != 0 {
						t.Errorf("%s: M_EOR left in the front %v", name, m)
					}
				}
				if n.Last().Flags&M_EOR == 0 {
					t.Errorf("%s: M_EOR not carried to the back %v", name, n)
				}
				// Storage is shared, not copied: the straddling
				// cluster has two references and neither side may
				// write it.
				for a := m; a != nil; a = a.Next {
					for b := n; b != nil; b = b.Next {
						if a.cl == b.cl && (refs(a) != 2 || a.Writable() || b.Writable()) {
							t.Errorf("%s: shared cluster refs %d writable %v/%v",
								name, refs(a), a.Writable(), b.Writable())
						}
					}
				}
				FreeChain(Cat(m, n))
			}
		}
	})
}

func TestSplitRejoin(t *testing.T) {
	// Splitting at every offset in turn and rejoining with Cat keeps the bytes.
	p := NewPool()
	data := pattern(40)
	m := chain(p, data, 7, 0, 13, 1)
	for off := range 40 {
		n := Split(m, off)
		if n == nil {
			t.Fatalf("Split(%d) = nil", off)
		}
		n.Flags &^= M_PKTHDR
		m = Cat(m, n)
		m.PktLen = Length(m)
		checkPkt(t, fmt.Sprintf("rejoined@%d", off), m, data)
	}
	FreeChain(m)
}

func TestCopy(t *testing.T) {
	pools(t, func(t *testing.T, p *Pool) {
		for _, segs := range splitChains {
			total := segTotal(segs)
			for _, r := range []struct{ off, n int }{
				{0, -1}, {0, total}, {0, 1}, {1, -1}, {total / 2, -1}, {total / 2, 2},
				{max(total-1, 0), -1}, {total, -1}, {0, total + 10}, {0, 0},
			} {
				name := fmt.Sprintf("%v[%d:+%d]", segs, r.off, r.n)
				data := pattern(total)
				m := chain(p, data, segs...)
				m.Last().SetEOR(true)
				c := Copy(m, r.off, r.n)
				lo := min(max(r.off, 0), total)
				hi := total
				if r.n >= 0 {
					hi = min(lo+r.n, total)
				}
				want := data[lo:hi]
				checkPkt(t, name+" original", m, data)
				if c == nil {
					if len(want) > 0 {
						t.Errorf("%s: Copy = nil, want %v", name, want)
					}
					FreeChain(m)
					continue
				}
				checkPkt(t, name+" copy", c, want)
				if r.n < 0 && c.Last().Flags&M_EOR == 0 {
					t.Errorf("%s: copy to the end lacks M_EOR: %v", name, c)
				}
				if hi < total && c.Last().Flags&M_EOR != 0 && len(want) > 0 {
					t.Errorf("%s: partial copy carries M_EOR: %v", name, c)
				}
				for x := c; x != nil; x = x.Next {
					if x.Writable() {
						t.Errorf("%s: copy is writable", name)
					}
				}
				for x := m; x != nil; x = x.Next {
					shared := false
					for y := c; y != nil; y = y.Next {
						shared = shared || y.cl == x.cl
					}
					if shared && (x.Writable() || refs(x) < 2) {
						t.Errorf("%s: shared original writable %v refs %d", name, x.Writable(), refs(x))
					}
				}
				// Freeing the copy gives the original sole ownership back.
				FreeChain(c)
				for x := m; x != nil; x = x.Next {
					if !x.Writable() || refs(x) != 1 {
						t.Errorf("%s: after freeing the copy: writable %v refs %d", name, x.Writable(), refs(x))
					}
				}
				FreeChain(m)
			}
		}
	})
}

func TestCopyObj(t *testing.T) {
	p := NewPool()
	m := p.GetObj(MT_CONTROL, 42)
	m.Next = p.CopyIn(MT_DATA, []byte("abc"), 0)
	m.Next.Flags &^= M_PKTHDR
	c := Copy(m, 0, -1)
	if c.Obj != 42 || c.Type != MT_CONTROL || Length(c) != 3 || c.Next.Type != MT_DATA {
		t.Errorf("Copy of an object mbuf: %v obj %v", c, c.Obj)
	}
	FreeChain(c)
	FreeChain(m)
}

func TestAdj(t *testing.T) {
	pools(t, func(t *testing.T, p *Pool) {
		for _, segs := range splitChains {
			total := segTotal(segs)
			for n := -total - 2; n <= total+2; n++ {
				name := fmt.Sprintf("%v adj %d", segs, n)
				data := pattern(total)
				m := chain(p, data, segs...)
				mbufs := len(lens(m))
				Adj(m, n)
				var want []byte
				if n >= 0 {
					want = data[min(n, total):]
				} else {
					want = data[:total-min(-n, total)]
				}
				checkPkt(t, name, m, want)
				if got := len(lens(m)); got != mbufs {
					t.Errorf("%s: %d mbufs, want %d: emptied mbufs stay", name, got, mbufs)
				}
				FreeChain(m)
			}
		}
	})
	Adj(nil, 5) // allowed
}

func TestAdjNoPkthdr(t *testing.T) {
	m := chain(nil, pattern(10), 4)
	m.Flags &^= M_PKTHDR
	m.PktLen = 0
	Adj(m, 3)
	Adj(m, -3)
	if !bytes.Equal(Bytes(m), pattern(10)[3:7]) || m.PktLen != 0 {
		t.Errorf("Adj without a header: %v PktLen %d", Bytes(m), m.PktLen)
	}
}

func TestPullup(t *testing.T) {
	pools(t, func(t *testing.T, p *Pool) {
		for _, tc := range []struct {
			name    string
			segs    []int
			leading int // bytes trimmed from the front first (Adj)
			n       int
			shared  bool // a Copy shares the first mbuf
			err     bool
			newHead bool
		}{
			{name: "already", segs: []int{10, 10}, n: 10},
			{name: "zero", segs: []int{0, 10}, n: 0},
			{name: "in-place", segs: []int{10, 10, 10}, n: 25},
			{name: "in-place-all", segs: []int{10, 10, 10}, n: 30},
			{name: "past-empties", segs: []int{4, 0, 0, 6}, n: 8},
			{name: "after-adj", segs: []int{10, 10}, leading: 5, n: 12},
			{name: "no-room", segs: []int{MSMALL, 100}, n: MSMALL + 50, newHead: true},
			{name: "no-room-all", segs: []int{MSMALL, 100}, n: MSMALL + 100, newHead: true},
			{name: "shared", segs: []int{10, 10}, n: 15, shared: true, newHead: true},
			{name: "too-long", segs: []int{10, 10}, n: 21, err: true},
			{name: "too-long-one", segs: []int{10}, n: 11, err: true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				data := pattern(segTotal(tc.segs))
				m := chain(p, data, tc.segs...)
				Adj(m, tc.leading)
				data = data[tc.leading:]
				var cp *Mbuf
				if tc.shared {
					cp = Copy(m, 0, -1)
				}
				h, err := Pullup(m, tc.n)
				if (err != nil) != tc.err {
					t.Fatalf("Pullup(%d) error %v, want error %v", tc.n, err, tc.err)
				}
				if h == nil {
					t.Fatal("Pullup returned a nil chain")
				}
				checkPkt(t, "pulled up", h, data)
				if !tc.err && h.Len() < tc.n {
					t.Errorf("head holds %d bytes, want %d: %v", h.Len(), tc.n, lens(h))
				}
				if !tc.err && (h != m) != tc.newHead {
					t.Errorf("new head %v, want %v", h != m, tc.newHead)
				}
				if cp != nil {
					checkPkt(t, "shared copy", cp, data)
					FreeChain(cp)
				}
				FreeChain(h)
			})
		}
	})
}

// TestPullupKeepsEOR: a record mark on an mbuf that Pullup empties must
// survive, as it does on the copying path.
func TestPullupKeepsEOR(t *testing.T) {
	for _, tc := range []struct {
		name string
		segs []int
		n    int
	}{
		{"copying", []int{MSMALL, 10}, MSMALL + 10},
		{"in-place", []int{10, 10}, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := chain(NewPool(), pattern(segTotal(tc.segs)), tc.segs...)
			m.Last().SetEOR(true)
			h, err := Pullup(m, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if h.Last().Flags&M_EOR == 0 {
				t.Errorf("M_EOR lost: %v", h)
			}
			FreeChain(h)
		})
	}
}

func TestCopyData(t *testing.T) {
	data := pattern(30)
	m := chain(nil, data, 3, 0, 10, 1, 6)
	for _, tc := range []struct{ off, n, want int }{
		{0, 30, 30}, {0, 0, 0}, {0, 31, 30}, {3, 5, 5}, {12, 10, 10}, {13, 1, 1},
		{29, 5, 1}, {30, 5, 0}, {40, 5, 0}, {5, 25, 25},
	} {
		dst := make([]byte, tc.n)
		got := CopyData(m, tc.off, dst)
		if got != tc.want {
			t.Errorf("CopyData(%d, %d) = %d, want %d", tc.off, tc.n, got, tc.want)
			continue
		}
		if tc.want > 0 && !bytes.Equal(dst[:got], data[tc.off:tc.off+got]) {
			t.Errorf("CopyData(%d, %d) bytes %v", tc.off, tc.n, dst[:got])
		}
	}
	if got := CopyData(nil, 0, make([]byte, 4)); got != 0 {
		t.Errorf("CopyData(nil) = %d", got)
	}
}

func TestLengthCount(t *testing.T) {
	if Length(nil) != 0 {
		t.Error("Length(nil) != 0")
	}
	if n, size := Count(nil); n != 0 || size != 0 {
		t.Errorf("Count(nil) = %d, %d", n, size)
	}
	p := NewPool()
	m := chain(p, pattern(MCLBYTES+10), 5, MCLBYTES)
	// Clusters: 256 for 5 bytes, 2048, 256 for the last 5.
	if n, size := Count(m); n != 3 || size != 3*MSIZE+MSMALL+MCLBYTES+MSMALL {
		t.Errorf("Count = %d, %d", n, size)
	}
	if Length(m) != MCLBYTES+10 || Length(m.Next) != MCLBYTES+5 {
		t.Errorf("Length = %d, %d", Length(m), Length(m.Next))
	}
	if m.Last() != m.Next.Next || m.Next.Next.Last() != m.Next.Next {
		t.Error("Last")
	}
	FreeChain(m)
	FreeChain(nil)
	FreeQueue(nil)
}

func TestFreeQueue(t *testing.T) {
	p := NewPool()
	a := chain(p, pattern(10), 3)
	b := chain(p, pattern(10), 3)
	keep := Copy(a, 0, -1)
	a.NextPkt = b
	FreeQueue(a)
	// keep held references: a's clusters stay alive for it alone.
	for x := keep; x != nil; x = x.Next {
		if refs(x) != 1 || !x.Writable() {
			t.Errorf("after FreeQueue: refs %d", refs(x))
		}
	}
	checkPkt(t, "survivor", keep, pattern(10))
	FreeChain(keep)
}

func TestFreeResets(t *testing.T) {
	m := NewPool().CopyIn(MT_OOBDATA, pattern(10), 4)
	m.Obj, m.NextPkt = "x", m
	m.SetEOR(true)
	next := m.Free()
	if next != nil {
		t.Errorf("Free returned %v", next)
	}
	if m.Obj != nil || m.NextPkt != nil || m.Next != nil || m.cl != nil || m.Flags != 0 || m.PktLen != 0 || m.Len() != 0 {
		t.Errorf("freed mbuf not reset: %+v", *m)
	}
}

// reuse reports whether, in some of tries attempts, get returns storage that
// free just released. sync.Pool may drop items (always under the race
// detector, one Put in four), so a single miss proves nothing.
func reuse(tries int, f func() bool) bool {
	for range tries {
		if f() {
			return true
		}
	}
	return false
}

func TestFreeChainRecycles(t *testing.T) {
	p := NewPool()
	for _, size := range []int{1, MSMALL, MCLBYTES, MJUMPAGE, MJUM16BYTES, MJUM64BYTES} {
		if !reuse(50, func() bool {
			m := p.Get(MT_DATA, size)
			cl := m.cl
			FreeChain(m)
			m2 := p.Get(MT_DATA, size)
			defer m2.Free()
			return m2.cl == cl && m2.Trailing() == len(cl.b)
		}) {
			t.Errorf("size %d: a freed cluster is never reused", size)
		}
	}
	if !reuse(50, func() bool {
		m := p.Get(MT_DATA, 10)
		FreeChain(m)
		m2 := p.GetObj(MT_SONAME, nil)
		defer m2.Free()
		return m2 == m && m2.cl == nil && m2.Type == MT_SONAME
	}) {
		t.Error("a freed mbuf header is never reused")
	}
	// A cluster still referenced by a copy is not recycled, and clusters
	// stay in their size class.
	for range 20 {
		m := p.Get(MT_DATA, MCLBYTES)
		copy(m.Extend(4), "abcd")
		c := Copy(m, 0, -1)
		cl := m.cl
		FreeChain(m)
		for range 4 {
			g := p.Get(MT_DATA, MCLBYTES)
			if g.cl == cl {
				t.Fatal("a cluster shared with a live copy was handed out again")
			}
			g.Free()
		}
		if string(c.Data()) != "abcd" {
			t.Fatalf("copy data %q", c.Data())
		}
		FreeChain(c)
		small := p.Get(MT_DATA, MSMALL)
		if small.cl == cl || small.Trailing() != MSMALL {
			t.Fatalf("a 2 KiB cluster served a 256-byte request")
		}
		small.Free()
	}
	// A fresh Get after reuse gets a clean, fully writable cluster view.
	m := p.Get(MT_DATA, MCLBYTES)
	if m.Len() != 0 || m.Leading() != 0 || !m.Writable() || m.Flags != 0 {
		t.Errorf("recycled mbuf: %v", m)
	}
	m.Free()
}

// TestNilPool: every operation works on a nil *Pool.
func TestNilPool(t *testing.T) {
	var p *Pool
	data := pattern(5000)
	m := p.CopyIn(MT_DATA, data, 8)
	m = p.Append(m, []byte("tail"))
	m = p.Prepend(m, 3)
	copy(m.Data(), "hdr")
	want := append(append([]byte("hdr"), data...), "tail"...)
	checkPkt(t, "nil pool chain", m, want)
	c := Copy(m, 2, 100)
	checkPkt(t, "nil pool copy", c, want[2:102])
	n := Split(m, 1000)
	checkPkt(t, "nil pool split", n, want[1000:])
	m, err := Pullup(m, 600)
	if err != nil {
		t.Fatal(err)
	}
	checkPkt(t, "nil pool pullup", m, want[:1000])
	FreeChain(m)
	FreeChain(n)
	FreeChain(c)
	FreeChain(p.Wrap(MT_DATA, []byte("x")))
	FreeChain(p.GetObj(MT_SONAME, "a"))
	FreeChain(p.GetHdr(MT_DATA, 10, 10))
}

func TestString(t *testing.T) {
	m := chain(nil, pattern(8), 3)
	m.Last().SetEOR(true)
	if got, want := m.String(), "[MT_DATA len=3 pkt=8] -> [MT_DATA len=5 EOR]"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	m.Last().SetEOR(false)
	if m.Last().Flags&M_EOR != 0 {
		t.Error("SetEOR(false)")
	}
}

func TestExtendPanics(t *testing.T) {
	m := NewPool().Get(MT_DATA, 10)
	defer func() {
		if recover() == nil {
			t.Error("Extend beyond the trailing space did not panic")
		}
	}()
	m.Extend(MSMALL + 1)
}

// fuzzChain builds a chain of data cut where cuts says: each byte of cuts is
// a segment length (mod 40, so zero-length mbufs appear too).
func fuzzChain(p *Pool, data, cuts []byte) *Mbuf {
	segs := make([]int, 0, len(cuts))
	for _, c := range cuts {
		segs = append(segs, int(c)%40)
	}
	return chain(p, data, segs...)
}

func FuzzSplitJoin(f *testing.F) {
	f.Add([]byte("hello, world"), []byte{3, 0, 4}, uint16(5), uint16(2))
	f.Add([]byte{}, []byte{}, uint16(0), uint16(0))
	f.Add([]byte("x"), []byte{0, 0, 1}, uint16(0), uint16(1))
	f.Add(pattern(300), []byte{39, 1, 0, 17, 80}, uint16(40), uint16(200))
	f.Add(pattern(100), []byte{10, 10, 10, 10}, uint16(99), uint16(0))
	f.Add(pattern(100), []byte{10, 10, 10, 10}, uint16(100), uint16(7))
	f.Fuzz(func(t *testing.T, data, cuts []byte, off1, off2 uint16) {
		if len(cuts) > 64 {
			cuts = cuts[:64]
		}
		p := NewPool()
		m := fuzzChain(p, data, cuts)
		m.Last().SetEOR(true)
		total := len(data)
		a := int(off1) % (total + 2)
		n := Split(m, a)
		if a >= total {
			if n != nil {
				t.Fatalf("Split(%d) of %d bytes = %v", a, total, n)
			}
			checkPkt(t, "unsplit", m, data)
			FreeChain(m)
			return
		}
		checkPkt(t, "front", m, data[:a])
		checkPkt(t, "back", n, data[a:])
		// A copy of the back, taken before it is split again, must not
		// change when the back is cut and its pieces freed.
		cp := Copy(n, 0, -1)
		b := int(off2) % (total - a + 1)
		o := Split(n, b)
		var got []byte
		got = append(got, Bytes(m)...)
		got = append(got, Bytes(n)...)
		got = append(got, Bytes(o)...)
		if !bytes.Equal(got, data) {
			t.Fatalf("pieces %v + %v + %v != %v", Bytes(m), Bytes(n), Bytes(o), data)
		}
		if o != nil {
			checkPkt(t, "last", o, data[a+b:])
			if o.Last().Flags&M_EOR == 0 {
				t.Fatalf("M_EOR lost: %v", o)
			}
		} else if b < total-a {
			t.Fatalf("second Split(%d) of %d bytes = nil", b, total-a)
		}
		FreeChain(o)
		FreeChain(n)
		checkPkt(t, "copy", cp, data[a:])
		FreeChain(cp)
		FreeChain(m)
	})
}

func FuzzAdjPullup(f *testing.F) {
	f.Add([]byte("hello, world"), []byte{3, 0, 4}, int16(2), uint16(6))
	f.Add([]byte("hello, world"), []byte{3, 0, 4}, int16(-2), uint16(10))
	f.Add([]byte{}, []byte{}, int16(0), uint16(0))
	f.Add(pattern(600), []byte{39, 255, 0, 0, 1}, int16(30), uint16(300))
	f.Add(pattern(600), []byte{0, 39, 38}, int16(-500), uint16(100))
	f.Add(pattern(50), []byte{5, 5}, int16(0), uint16(51))
	f.Fuzz(func(t *testing.T, data, cuts []byte, adj int16, pull uint16) {
		if len(cuts) > 64 {
			cuts = cuts[:64]
		}
		p := NewPool()
		m := fuzzChain(p, data, cuts)
		var shared *Mbuf
		if adj%3 == 0 {
			shared = Copy(m, 0, -1) // make the storage read-only
		}
		Adj(m, int(adj))
		want := data
		if adj >= 0 {
			want = data[min(int(adj), len(data)):]
		} else {
			want = data[:len(data)-min(-int(adj), len(data))]
		}
		checkPkt(t, "adjusted", m, want)
		n := int(pull) % (len(data) + 2)
		h, err := Pullup(m, n)
		if (err != nil) != (n > len(want)) {
			t.Fatalf("Pullup(%d) of %d bytes: %v", n, len(want), err)
		}
		if err == nil && h.Len() < n {
			t.Fatalf("Pullup(%d): head has %d bytes", n, h.Len())
		}
		checkPkt(t, "pulled up", h, want)
		if shared != nil {
			checkPkt(t, "shared", shared, data)
			FreeChain(shared)
		}
		FreeChain(h)
	})
}

func BenchmarkCopyIn(b *testing.B) {
	for _, size := range []int{64, 1500, 9000, 65536, 256 * 1024} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			p := NewPool()
			data := pattern(size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				FreeChain(p.CopyIn(MT_DATA, data, 16))
			}
		})
	}
}

func BenchmarkGetFree(b *testing.B) {
	for _, size := range []int{0, MCLBYTES, MJUM64BYTES} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			p := NewPool()
			b.ReportAllocs()
			for b.Loop() {
				p.Get(MT_DATA, size).Free()
			}
		})
	}
}

func BenchmarkSplitCopy(b *testing.B) {
	p := NewPool()
	data := pattern(4000)
	b.ReportAllocs()
	for b.Loop() {
		m := p.CopyIn(MT_DATA, data, 0)
		c := Copy(m, 100, 2000)
		n := Split(m, 1000)
		FreeChain(c)
		FreeChain(n)
		FreeChain(m)
	}
}
