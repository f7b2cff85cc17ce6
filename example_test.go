package bsdnet_test

import (
	"context"
	"fmt"

	"github.com/bsdnet/bsdnet"
	"github.com/bsdnet/bsdnet/socket"
)

// A stack, a connected pair of PF_LOCAL stream sockets, and one message
// through the socket(9) calls sosend and soreceive.
func ExampleNewStack() {
	st := bsdnet.NewStack()
	defer st.Close()

	cred := socket.UserCred(1000, 1000)
	a, b, err := st.Socketpair(socket.PF_LOCAL, socket.SOCK_STREAM, 0, cred)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	out := socket.UioBuf([]byte("hello, socket(9)"))
	if err := a.Send(ctx, nil, &out, nil, nil, 0); err != nil {
		panic(err)
	}
	buf := make([]byte, 64)
	in := socket.UioBuf(buf)
	if err := b.Receive(ctx, nil, &in, nil, nil, nil); err != nil {
		panic(err)
	}
	fmt.Printf("%s\n", buf[:len(buf)-in.Resid])
	// Output: hello, socket(9)
}

// A listener in the stack's own namespace, a client that connects to it,
// and the connection taken from the listen queue.
func ExampleStack_Socket() {
	st := bsdnet.NewStack()
	defer st.Close()
	cred := socket.RootCred()

	ls, _ := st.Socket(socket.PF_LOCAL, socket.SOCK_SEQPACKET, 0, cred)
	if err := ls.Bind(socket.SockaddrUnix{Path: "/run/app.sock"}); err != nil {
		panic(err)
	}
	if err := ls.Listen(5); err != nil {
		panic(err)
	}
	c, _ := st.Socket(socket.PF_LOCAL, socket.SOCK_SEQPACKET, 0, cred)
	if err := c.Connect(socket.SockaddrUnix{Path: "/run/app.sock"}); err != nil {
		panic(err)
	}
	qlen, _, qlimit := ls.ListenQueue()
	fmt.Println("queued:", qlen, "limit:", qlimit)

	s, err := ls.ListenDequeue(context.Background(), 0)
	if err != nil {
		panic(err)
	}
	local, _ := s.Sockaddr()
	fmt.Println("accepted on", local)
	// Output:
	// queued: 1 limit: 5
	// accepted on /run/app.sock
}
