package local_test

import (
	"encoding/binary"
	"errors"
	"slices"
	"syscall"
	"testing"

	"github.com/bsdnet/bsdnet/local"
	"github.com/bsdnet/bsdnet/mbuf"
	"github.com/bsdnet/bsdnet/socket"
)

// peercred reads LOCAL_PEERCRED.
func peercred(so *socket.Socket) (local.Xucred, error) {
	sopt := socket.Sockopt{Level: local.SOL_LOCAL, Name: local.LOCAL_PEERCRED,
		Val: make([]byte, local.XucredLen), Valsize: local.XucredLen}
	if err := so.GetOpt(&sopt); err != nil {
		return local.Xucred{}, err
	}
	return local.ParseXucred(sopt.Val[:sopt.Valsize])
}

func wantXucred(t *testing.T, who string, x local.Xucred, c *socket.Cred) {
	t.Helper()
	groups := append([]uint32{c.Gid}, c.Groups...)
	if x.Version != 0 || x.Uid != c.Uid || !slices.Equal(x.Groups, groups) || x.Pid != c.Pid {
		t.Fatalf("%s: xucred %+v, want uid %d groups %v pid %d", who, x, c.Uid, groups, c.Pid)
	}
}

var (
	credA = &socket.Cred{Uid: 1000, Ruid: 1001, Gid: 100, Rgid: 101, Groups: []uint32{5, 6}, Pid: 77}
	credB = &socket.Cred{Uid: 0, Ruid: 0, Gid: 0, Rgid: 0, Groups: []uint32{20}, Pid: 1}
)

// LOCAL_PEERCRED (unp_copy_peercred): the accepted socket sees the
// connector's credential; the connector sees the credential the listener
// cached at listen(2); socketpair ends see their creator's.
func TestPeercred(t *testing.T) {
	e := newEnv(t)
	l := e.socketCred(socket.SOCK_STREAM, credB)
	if err := l.Bind(un("/pc")); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(5); err != nil {
		t.Fatal(err)
	}
	c := e.socketCred(socket.SOCK_STREAM, credA)
	if err := c.Connect(un("/pc")); err != nil {
		t.Fatal(err)
	}
	s := e.accept(l)
	x, err := peercred(s)
	if err != nil {
		t.Fatalf("accepted LOCAL_PEERCRED: %v", err)
	}
	wantXucred(t, "accepted side", x, credA)
	x, err = peercred(c)
	if err != nil {
		t.Fatalf("connector LOCAL_PEERCRED: %v", err)
	}
	wantXucred(t, "connector side", x, credB)

	// socketpair: both ends get the creator's credential.
	a := e.socketCred(socket.SOCK_STREAM, credA)
	b := e.socketCred(socket.SOCK_STREAM, credA)
	if err := socket.Connect2(a, b); err != nil {
		t.Fatal(err)
	}
	for _, so := range []*socket.Socket{a, b} {
		x, err := peercred(so)
		if err != nil {
			t.Fatalf("socketpair LOCAL_PEERCRED: %v", err)
		}
		wantXucred(t, "socketpair", x, credA)
	}
	// A short buffer is cut, not refused (sooptcopyout).
	sopt := socket.Sockopt{Level: local.SOL_LOCAL, Name: local.LOCAL_PEERCRED, Val: make([]byte, 8), Valsize: 8}
	if err := s.GetOpt(&sopt); err != nil || sopt.Valsize != 8 || binary.NativeEndian.Uint32(sopt.Val[4:]) != credA.Uid {
		t.Fatalf("short LOCAL_PEERCRED = %d bytes, %v", sopt.Valsize, err)
	}
}

// uipc_ctloutput: no peer credential is ENOTCONN on a stream socket and
// EINVAL on others (datagram always; FreeBSD 14 tests so_type ==
// SOCK_STREAM, so an unconnected seqpacket socket is EINVAL as well); a
// level other than SOL_LOCAL is EINVAL; unknown options EOPNOTSUPP (get)
// and ENOPROTOOPT (set).
func TestPeercredErrors(t *testing.T) {
	e := newEnv(t)
	if _, err := peercred(e.socket(socket.SOCK_STREAM)); !errors.Is(err, syscall.ENOTCONN) {
		t.Errorf("unconnected stream: %v, want ENOTCONN", err)
	}
	if _, err := peercred(e.socket(socket.SOCK_SEQPACKET)); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("unconnected seqpacket: %v, want EINVAL", err)
	}
	if _, err := peercred(e.socket(socket.SOCK_DGRAM)); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("dgram: %v, want EINVAL", err)
	}
	da, _ := e.pair(socket.SOCK_DGRAM)
	if _, err := peercred(da); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("connected dgram: %v, want EINVAL", err)
	}
	l := e.listener(socket.SOCK_STREAM, "/l", 1)
	if _, err := l.GetOptInt(local.SOL_LOCAL+7, local.LOCAL_PEERCRED); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("bad level: %v, want EINVAL", err)
	}
	if _, err := l.GetOptInt(local.SOL_LOCAL, 99); !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Errorf("unknown get: %v, want EOPNOTSUPP", err)
	}
	if err := l.SetOptInt(local.SOL_LOCAL, 99, 1); !errors.Is(err, syscall.ENOPROTOOPT) {
		t.Errorf("unknown set: %v, want ENOPROTOOPT", err)
	}
}

// SCM_CREDS from the sender: the kernel fills struct cmsgcred from the
// sender's credential whatever the sender put in it.
func TestSCMCreds(t *testing.T) {
	for _, typ := range []int{socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_SEQPACKET} {
		t.Run(typeName(typ), func(t *testing.T) {
			e := newEnv(t)
			a := e.socketCred(typ, credA)
			b := e.socket(typ) // uid 1000 gid 1000
			socket.Connect2(a, b)
			if typ == socket.SOCK_DGRAM {
				socket.Connect2(b, a)
			}
			junk := make([]byte, 84)
			for i := range junk {
				junk[i] = 0xee
			}
			ctl := e.v.NewControl(socket.SOL_SOCKET, socket.SCM_CREDS, junk)
			if _, err := sendto(a, []byte("c"), nil, ctl, 0); err != nil {
				t.Fatal(err)
			}
			m, err := recvmsg(b, 10, 0)
			if err != nil || string(m.data) != "c" {
				t.Fatalf("recvmsg = %q, %v", m.data, err)
			}
			cm := findCmsg(t, m.control, socket.SCM_CREDS)
			cc, err := local.ParseCmsgcred(cm.Data)
			if err != nil {
				t.Fatal(err)
			}
			want := local.Cmsgcred{Pid: 77, Uid: 1001, Euid: 1000, Gid: 101, Groups: []uint32{100, 5, 6}}
			if cc.Pid != want.Pid || cc.Uid != want.Uid || cc.Euid != want.Euid || cc.Gid != want.Gid || !slices.Equal(cc.Groups, want.Groups) {
				t.Fatalf("cmsgcred %+v, want %+v", cc, want)
			}
			// From the uid-1000 socket the other way.
			ctl = e.v.NewControl(socket.SOL_SOCKET, socket.SCM_CREDS, make([]byte, 84))
			if _, err := sendto(b, []byte("d"), nil, ctl, 0); err != nil {
				t.Fatal(err)
			}
			m, err = recvmsg(a, 10, 0)
			if err != nil {
				t.Fatal(err)
			}
			cc, _ = local.ParseCmsgcred(findCmsg(t, m.control, socket.SCM_CREDS).Data)
			if cc.Uid != 1000 || cc.Euid != 1000 || cc.Gid != 1000 || len(cc.Groups) == 0 || cc.Groups[0] != 1000 {
				t.Fatalf("uid 1000 sender: cmsgcred %+v", cc)
			}
		})
	}
}

func findCmsg(t *testing.T, control *mbuf.Mbuf, typ int) socket.Cmsg {
	t.Helper()
	var found []socket.Cmsg
	for _, c := range cmsgs(t, control) {
		if c.Level == socket.SOL_SOCKET && c.Type == typ {
			found = append(found, c)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d control messages of type %d in %v, want 1", len(found), typ, cmsgs(t, control))
	}
	return found[0]
}

func countCmsg(t *testing.T, control *mbuf.Mbuf, typ int) int {
	t.Helper()
	n := 0
	for _, c := range cmsgs(t, control) {
		if c.Level == socket.SOL_SOCKET && c.Type == typ {
			n++
		}
	}
	return n
}

// sockcred decodes struct sockcred: uid, euid, gid, egid, ngroups, groups.
type sockcred struct {
	uid, euid, gid, egid uint32
	groups               []uint32
}

func parseSockcred(t *testing.T, b []byte) sockcred {
	t.Helper()
	if len(b) < 20 {
		t.Fatalf("sockcred of %d bytes", len(b))
	}
	ne := binary.NativeEndian
	s := sockcred{uid: ne.Uint32(b), euid: ne.Uint32(b[4:]), gid: ne.Uint32(b[8:]), egid: ne.Uint32(b[12:])}
	n := int(ne.Uint32(b[16:]))
	if len(b) < 20+4*n {
		t.Fatalf("sockcred says %d groups in %d bytes", n, len(b))
	}
	for i := 0; i < n; i++ {
		s.groups = append(s.groups, ne.Uint32(b[20+4*i:]))
	}
	return s
}

// LOCAL_CREDS on a stream receiver: SCM_CREDS (struct sockcred) comes with
// the first message only; setting the option again re-arms it. The
// accepted socket inherits it from the listener.
func TestLocalCredsStream(t *testing.T) {
	for _, how := range []string{"set on accepted", "inherited from listener"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t)
			l := e.listener(socket.SOCK_STREAM, "/lc", 5)
			if how == "inherited from listener" {
				if err := l.SetOptInt(local.SOL_LOCAL, local.LOCAL_CREDS, 1); err != nil {
					t.Fatal(err)
				}
			}
			c := e.socketCred(socket.SOCK_STREAM, credA)
			if err := c.Connect(un("/lc")); err != nil {
				t.Fatal(err)
			}
			s := e.accept(l)
			if how == "set on accepted" {
				if err := s.SetOptInt(local.SOL_LOCAL, local.LOCAL_CREDS, 1); err != nil {
					t.Fatal(err)
				}
			}
			if v, err := s.GetOptInt(local.SOL_LOCAL, local.LOCAL_CREDS); err != nil || v != 1 {
				t.Fatalf("LOCAL_CREDS = %d, %v", v, err)
			}
			for i, want := range []int{1, 0, 0} {
				send(c, []byte{'0' + byte(i)}, 0)
				m, err := recvmsg(s, 10, 0)
				if err != nil || m.n != 1 {
					t.Fatalf("message %d: %d bytes, %v", i, m.n, err)
				}
				if got := countCmsg(t, m.control, socket.SCM_CREDS); got != want {
					t.Fatalf("message %d: %d SCM_CREDS, want %d", i, got, want)
				}
				if want == 1 {
					sc := parseSockcred(t, findCmsg(t, m.control, socket.SCM_CREDS).Data)
					if sc.uid != 1001 || sc.euid != 1000 || sc.gid != 101 || sc.egid != 100 {
						t.Fatalf("sockcred %+v", sc)
					}
				}
			}
			// Re-arm.
			s.SetOptInt(local.SOL_LOCAL, local.LOCAL_CREDS, 1)
			send(c, []byte("r"), 0)
			m, _ := recvmsg(s, 10, 0)
			if countCmsg(t, m.control, socket.SCM_CREDS) != 1 {
				t.Fatal("no SCM_CREDS after setting LOCAL_CREDS again")
			}
			// Turned off.
			s.SetOptInt(local.SOL_LOCAL, local.LOCAL_CREDS, 0)
			send(c, []byte("o"), 0)
			m, _ = recvmsg(s, 10, 0)
			if countCmsg(t, m.control, socket.SCM_CREDS) != 0 {
				t.Fatal("SCM_CREDS with LOCAL_CREDS off")
			}
		})
	}
}

// FreeBSD 14 keeps LOCAL_CREDS as a one-shot flag on stream sockets
// (UNP_WANTCRED_ONESHOT, cleared by uipc_send once the credential went);
// getsockopt(LOCAL_CREDS) reads that flag, so it reads 0 afterwards.
func TestLocalCredsStreamOneShotFlag(t *testing.T) {
	e := newEnv(t)
	a, b := e.pair(socket.SOCK_STREAM)
	b.SetOptInt(local.SOL_LOCAL, local.LOCAL_CREDS, 1)
	send(a, []byte("x"), 0)
	recvmsg(b, 10, 0)
	if v, err := b.GetOptInt(local.SOL_LOCAL, local.LOCAL_CREDS); err != nil || v != 0 {
		t.Fatalf("LOCAL_CREDS after the credential went = %d, %v; want 0", v, err)
	}
}

// LOCAL_CREDS on a datagram receiver: every datagram carries SCM_CREDS,
// from whichever sender; a sender's own SCM_CREDS (cmsgcred) is replaced.
func TestLocalCredsDgram(t *testing.T) {
	e := newEnv(t)
	r := e.bound(socket.SOCK_DGRAM, "/lcd")
	if err := r.SetOptInt(local.SOL_LOCAL, local.LOCAL_CREDS, 1); err != nil {
		t.Fatal(err)
	}
	s1 := e.socketCred(socket.SOCK_DGRAM, credA)
	s2 := e.socketCred(socket.SOCK_DGRAM, credB)
	for i := 0; i < 3; i++ {
		sendto(s1, []byte("1"), un("/lcd"), nil, 0)
		sendto(s2, []byte("2"), un("/lcd"), nil, 0)
	}
	for i := 0; i < 6; i++ {
		m, err := recvmsg(r, 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		sc := parseSockcred(t, findCmsg(t, m.control, socket.SCM_CREDS).Data)
		want := uint32(1000)
		if string(m.data) == "2" {
			want = 0
		}
		if sc.euid != want {
			t.Fatalf("datagram %d (%q): euid %d, want %d", i, m.data, sc.euid, want)
		}
	}
	ctl := e.v.NewControl(socket.SOL_SOCKET, socket.SCM_CREDS, make([]byte, 84))
	sendto(s1, []byte("3"), un("/lcd"), ctl, 0)
	m, err := recvmsg(r, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := countCmsg(t, m.control, socket.SCM_CREDS); n != 1 {
		t.Fatalf("%d SCM_CREDS with LOCAL_CREDS and a sender's SCM_CREDS, want 1 (unp_addsockcred removes the sender's)", n)
	}
	if len(findCmsg(t, m.control, socket.SCM_CREDS).Data) == 84 {
		t.Fatal("the sender's cmsgcred was kept instead of the receiver's sockcred")
	}
}
