package inet

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestTCPTimerQueueHeap drives the timer queue's heap with random placings,
// moves and removals of many connections and checks after each that it is
// a heap, that every connection knows its place, and finally that the
// connections come out in deadline order.
func TestTCPTimerQueueHeap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	base := time.Unix(1e9, 0)
	var q tcpTimerQ
	tps := make([]*tcpcb, 300)
	for i := range tps {
		tps[i] = &tcpcb{}
	}
	want := map[*tcpcb]time.Time{}
	check := func(step int) {
		t.Helper()
		if len(q.h) != len(want) {
			t.Fatalf("step %d: %d in the heap, want %d", step, len(q.h), len(want))
		}
		for i, e := range q.h {
			if e.tp.tidx != i+1 {
				t.Fatalf("step %d: entry %d's block says %d", step, i, e.tp.tidx-1)
			}
			if !e.when.Equal(want[e.tp]) {
				t.Fatalf("step %d: entry %d due %v, want %v", step, i, e.when, want[e.tp])
			}
			if i > 0 && e.when.Before(q.h[(i-1)/2].when) {
				t.Fatalf("step %d: entry %d is due before its parent", step, i)
			}
		}
	}
	for step := range 5000 {
		tp := tps[r.IntN(len(tps))]
		if r.IntN(4) == 0 {
			if i := tp.tidx - 1; i >= 0 {
				q.remove(i)
			}
			delete(want, tp)
		} else {
			when := base.Add(time.Duration(r.IntN(1000)) * time.Millisecond)
			q.place(tp, when)
			want[tp] = when
		}
		check(step)
	}
	var got []time.Time
	for len(q.h) > 0 {
		tp := q.h[0].tp
		got = append(got, q.h[0].when)
		q.remove(0)
		if tp.tidx != 0 {
			t.Fatal("a block taken out still has a place")
		}
	}
	if len(got) != len(want) || !slices.IsSortedFunc(got, func(a, b time.Time) int { return a.Compare(b) }) {
		t.Fatalf("%d blocks came out (want %d), sorted %v", len(got), len(want), slices.IsSortedFunc(got, func(a, b time.Time) int { return a.Compare(b) }))
	}
}
