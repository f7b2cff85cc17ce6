package local_test

import (
	"testing"

	"github.com/bsdnet/bsdnet/socket"
)

// The unp_gc tests of unix_passfd (bundle, bundle_cancel) and the cycle
// tests: sockets reachable only through SCM_RIGHTS messages queued on each
// other are collected once every user hold is gone, so the stack's socket
// counts and net.local.inflight return to the baseline: nothing leaks.
//
// Each scenario builds a structure and returns the holds the "user" has;
// the test closes them all in order, and then either
//   - "gc": calls (*Domain).GC(), or
//   - "auto": relies on the collection that a PF_LOCAL socket's detach
//     schedules (uipc_detach enqueues unp_gc when rights are in flight).
//     Where no close in the scenario detaches a socket after the cycle is
//     complete (FreeBSD would not collect yet either), the scenario closes
//     one unrelated PF_LOCAL socket to trigger it.
type gcScenario struct {
	name    string
	build   func(e *env) []*socket.Socket
	trigger bool // auto mode needs an unrelated detach
	dead    int  // sockets the explicit GC must find unreachable (-1: any)
}

var gcScenarios = []gcScenario{
	{
		// bundle_cancel: fd[0] sent over itself both ways, never read.
		name: "bundle_cancel",
		build: func(e *env) []*socket.Socket {
			a, b := e.pair(socket.SOCK_STREAM)
			e.sendRights(a, a) // a waits in b's buffer
			e.sendRights(b, a) // a waits in its own buffer
			return []*socket.Socket{a, b}
		},
		dead: -1,
	},
	{
		// A socket whose only holder is a message in its own buffer; the
		// peer's close (a detach) triggers the collection.
		name: "self",
		build: func(e *env) []*socket.Socket {
			a, b := e.pair(socket.SOCK_STREAM)
			e.sendRights(a, b) // b waits in b's buffer
			return []*socket.Socket{b, a}
		},
		dead: -1,
	},
	{
		// Two sockets each holding the other, via two connections; the
		// carriers close last.
		name: "twosome",
		build: func(e *env) []*socket.Socket {
			a, a2 := e.pair(socket.SOCK_STREAM)
			b, b2 := e.pair(socket.SOCK_STREAM)
			e.sendRights(a2, b) // b in a's buffer
			e.sendRights(b2, a) // a in b's buffer
			return []*socket.Socket{a, b, a2, b2}
		},
		dead: -1,
	},
	{
		// Two sockets each holding the other over their own connection:
		// nothing detaches when they close.
		name: "twosome-one-pair",
		build: func(e *env) []*socket.Socket {
			a, b := e.pair(socket.SOCK_STREAM)
			e.sendRights(b, b) // b in a's buffer
			e.sendRights(a, a) // a in b's buffer
			return []*socket.Socket{a, b}
		},
		trigger: true,
		dead:    2,
	},
	{
		// fivesome: x0 holds x1 holds ... x4 holds x0.
		name: "ring of five",
		build: func(e *env) []*socket.Socket {
			var xs, ys []*socket.Socket
			for i := 0; i < 5; i++ {
				x, y := e.pair(socket.SOCK_STREAM)
				xs, ys = append(xs, x), append(ys, y)
			}
			for i := 0; i < 5; i++ {
				e.sendRights(ys[i], xs[(i+1)%5]) // into x_i's buffer
			}
			return append(xs, ys...)
		},
		dead: -1,
	},
	{
		// A datagram socket connected to itself holding itself.
		name: "dgram self",
		build: func(e *env) []*socket.Socket {
			s := e.bound(socket.SOCK_DGRAM, "/gc/self")
			if err := s.Connect(un("/gc/self")); err != nil {
				e.t.Fatal(err)
			}
			e.sendRights(s, s)
			return []*socket.Socket{s}
		},
		trigger: true,
		dead:    1,
	},
	{
		// Datagram sockets in a cycle through sendto.
		name: "dgram pair cycle",
		build: func(e *env) []*socket.Socket {
			a := e.bound(socket.SOCK_DGRAM, "/gc/a")
			b := e.bound(socket.SOCK_DGRAM, "/gc/b")
			if _, err := sendto(a, []byte("x"), un("/gc/b"), e.v.NewRightsControl(a), 0); err != nil {
				e.t.Fatal(err)
			}
			if _, err := sendto(b, []byte("x"), un("/gc/a"), e.v.NewRightsControl(b), 0); err != nil {
				e.t.Fatal(err)
			}
			return []*socket.Socket{a, b}
		},
		trigger: true,
		dead:    2,
	},
	{
		// A listener passed in rights to a connection still on its own
		// queue: the listener is held only by the unaccepted socket's
		// buffer, which only the listener reaches (unp_gc scans a
		// listener's completed connections).
		name: "listener in its own queue",
		build: func(e *env) []*socket.Socket {
			l := e.listener(socket.SOCK_STREAM, "/gc/l", 5)
			c := e.socket(socket.SOCK_STREAM)
			if err := c.Connect(un("/gc/l")); err != nil {
				e.t.Fatal(err)
			}
			e.sendRights(c, l) // l waits in the unaccepted socket's buffer
			return []*socket.Socket{l, c}
		},
		dead: -1,
	},
	{
		// A listener and a connection that carry each other.
		name: "listener and socket",
		build: func(e *env) []*socket.Socket {
			l := e.listener(socket.SOCK_STREAM, "/gc/l2", 5)
			a, b := e.pair(socket.SOCK_STREAM)
			c := e.socket(socket.SOCK_STREAM)
			if err := c.Connect(un("/gc/l2")); err != nil {
				e.t.Fatal(err)
			}
			e.sendRights(a, l) // l in b's buffer
			e.sendRights(c, b) // b in the queued socket's buffer
			return []*socket.Socket{l, b, c, a}
		},
		dead: -1,
	},
}

func TestGCCycles(t *testing.T) {
	for _, sc := range gcScenarios {
		for _, mode := range []string{"gc", "auto"} {
			t.Run(sc.name+"/"+mode, func(t *testing.T) {
				e := newEnv(t)
				base := e.counts()
				holds := sc.build(e)
				if e.d.Inflight() == 0 {
					t.Fatal("scenario put nothing in flight")
				}
				for _, so := range holds {
					so.Close()
				}
				if mode == "gc" {
					n := e.d.GC()
					if sc.dead >= 0 && n != sc.dead {
						t.Errorf("GC found %d unreachable, want %d", n, sc.dead)
					}
				} else if sc.trigger {
					e.socket(socket.SOCK_DGRAM).Close()
				}
				if got := e.counts(); got != base {
					t.Fatalf("after closing everything: %+v, want the baseline %+v (leak)", got, base)
				}
				if n := len(e.v.Sockets()); n != 0 {
					t.Fatalf("%d sockets still registered", n)
				}
			})
		}
	}
}

// The collector must not touch what is reachable: a chain of five hanging
// off a socket the user still holds survives GC and can be read out link by
// link; then closing everything leaves nothing.
func TestGCKeepsReachable(t *testing.T) {
	e := newEnv(t)
	base := e.counts()
	var xs, ys []*socket.Socket
	for i := 0; i < 5; i++ {
		x, y := e.pair(socket.SOCK_STREAM)
		xs, ys = append(xs, x), append(ys, y)
	}
	// x_i's buffer holds x_{i+1}; the user keeps only x0 and the y's.
	for i := 0; i < 4; i++ {
		e.sendRights(ys[i], xs[i+1])
		xs[i+1].Close()
	}
	// And a cycle reachable from x4: x4 holds itself.
	e.sendRights(ys[4], xs[4])
	if n := e.d.GC(); n != 0 {
		t.Fatalf("GC collected %d reachable sockets", n)
	}
	if e.d.Inflight() != 5 {
		t.Fatalf("inflight = %d, want 5", e.d.Inflight())
	}
	cur := xs[0]
	for i := 1; i < 5; i++ {
		r := e.recvRights(cur)
		if len(r) != 1 || r[0] != xs[i] {
			t.Fatalf("link %d: got %v", i, r)
		}
		if i > 1 {
			cur.Close()
		}
		cur = r[0]
	}
	// cur is x4, which holds itself; reading it out makes it ordinary.
	r := e.recvRights(cur)
	if len(r) != 1 || r[0] != cur {
		t.Fatalf("x4 carried %v", r)
	}
	r[0].Close()
	cur.Close()
	xs[0].Close()
	for _, y := range ys {
		y.Close()
	}
	if got := e.counts(); got != base {
		t.Fatalf("after closing everything: %+v, want %+v", got, base)
	}
}

// GC with nothing in flight finds nothing and leaves everything alone.
func TestGCIdle(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	send(a, []byte("keep"), 0)
	if n := e.d.GC(); n != 0 {
		t.Fatalf("GC = %d", n)
	}
	if d, _, err := recv(b, 10, 0); err != nil || string(d) != "keep" {
		t.Fatalf("recv = %q, %v", d, err)
	}
}
