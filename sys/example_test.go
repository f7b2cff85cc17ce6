package sys_test

import (
	"fmt"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/socket"
	"github.com/bsdnet/bsdnet/sys"
)

// A process makes a socket pair and passes one of its own sockets through
// it with SCM_RIGHTS, as code written for golang.org/x/sys/unix would.
func Example() {
	st := bsdnet.NewStack()
	defer st.Close()
	p := sys.NewProc(st.Vnet(), socket.UserCred(1000, 1000))
	defer p.CloseAll()

	fds, err := p.Socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0)
	if err != nil {
		panic(err)
	}
	extra, _ := p.Socket(sys.AF_UNIX, sys.SOCK_DGRAM, 0)
	if err := p.Sendmsg(fds[0], []byte("hello"), sys.UnixRights(extra), nil, 0); err != nil {
		panic(err)
	}

	buf := make([]byte, 16)
	oob := make([]byte, sys.CmsgSpace(4))
	n, oobn, _, _, err := p.Recvmsg(fds[1], buf, oob, 0)
	if err != nil {
		panic(err)
	}
	msgs, _ := sys.ParseSocketControlMessage(oob[:oobn])
	passed, _ := sys.ParseUnixRights(&msgs[0])
	typ, _ := p.GetsockoptInt(passed[0], sys.SOL_SOCKET, sys.SO_TYPE)
	fmt.Printf("%s, descriptor %d, SOCK_DGRAM: %v\n", buf[:n], passed[0], typ == sys.SOCK_DGRAM)
	// Output: hello, descriptor 3, SOCK_DGRAM: true
}
