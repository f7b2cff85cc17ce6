// Package sys is bsdnet's user API: a process's descriptor table and the
// socket(2) family of system calls over a bsdnet stack, named and shaped
// like golang.org/x/sys/unix so that code written for it reads the same.
//
// A Proc is a process: a table of descriptors, each naming a socket of one
// stack (a *socket.Vnet), and the credential its sockets are created with.
// Its methods are the system calls, with x/sys/unix's names, arguments and
// results: descriptors are small ints, lowest free first; errors are
// syscall.Errno values, so errors.Is(err, syscall.EAGAIN) works and the
// aliases below (EAGAIN, EBADF, ...) read as unix.EAGAIN does.
//
//	p := sys.NewProc(stack.Vnet(), socket.UserCred(1000, 1000))
//	fds, err := p.Socketpair(sys.AF_UNIX, sys.SOCK_STREAM, 0)
//	err = p.Sendmsg(fds[0], []byte("hi"), sys.UnixRights(fd), nil, 0)
//	n, oobn, flags, from, err := p.Recvmsg(fds[1], buf, oob, 0)
//
// The semantics are FreeBSD's (sys/kern/uipc_syscalls.c, sys_socket.c,
// kern_descrip.c, uipc_usrreq.c):
//
//   - Plain Accept gives the new descriptor the listener's O_NONBLOCK
//     (accept4 with ACCEPT4_INHERIT); Accept4 uses only its flags.
//   - O_NONBLOCK lives on the socket (SS_NBIO), so it is shared by every
//     descriptor of the socket, in this Proc or another; FD_CLOEXEC belongs
//     to one descriptor.
//   - A send that made progress on a stream socket and was then interrupted
//     or would block returns the short count without an error; an atomic
//     socket returns the error.
//   - SCM_RIGHTS carries descriptors: the sender's descriptors name sockets
//     (EBADF for a bad one), the message holds them in flight, and the
//     receiver gets new descriptors in its own table (FD_CLOEXEC with
//     MSG_CMSG_CLOEXEC). When the receiver's table cannot take them all the
//     receive fails with EMFILE and the sockets carried are closed (current
//     FreeBSD; 14 said EMSGSIZE). Rights that do not fit the control buffer
//     are closed and MSG_CTRUNC is set. No descriptor leaks either way.
//   - FIONREAD counts data bytes only, not control or addresses.
//
// Deviations, all forced by user space or by the shape of x/sys/unix:
//
//   - There are no signals. EPIPE is returned but SIGPIPE is never
//     delivered (as if every socket had SO_NOSIGPIPE); MSG_NOSIGNAL is
//     accepted and changes nothing. What a signal is to a sleeping call is
//     the cancellation of a context: the ...Context variants of the blocking
//     calls (Accept4Context, ConnectContext, SendmsgNContext,
//     RecvmsgContext, PollContext) return EINTR when their context is
//     cancelled and EWOULDBLOCK when its deadline passes. The other calls
//     use context.Background and sleep until the event.
//   - Every descriptor is a socket, so ENOTSOCK cannot happen; a closed
//     or never-opened descriptor is EBADF.
//   - As in x/sys/unix, Send, Sendto and Sendmsg report no byte count: use
//     SendmsgN or Write when a short count matters.
//   - As in x/sys/unix, a Sendmsg with control and no data on a socket that
//     is not SOCK_DGRAM sends one zero byte, and a Recvmsg with a control
//     buffer and no data buffer reads it (reported as 0 bytes).
//   - A SockaddrUnix name of 104 bytes or more, or an empty one, is EINVAL
//     (x/sys/unix checks that before the kernel sees it).
//   - When EMFILE stops the receipt of rights on a stream or seqpacket
//     socket, FreeBSD leaves the data in the socket buffer for the next
//     read. bsdnet's socket layer has already moved it when the rights come
//     out, so the Proc keeps those bytes and its next receive on that
//     socket returns them (poll and FIONREAD count them). On a datagram
//     socket the datagram is dropped, as in FreeBSD.
//   - A control message that does not fit the control buffer whole is not
//     copied at all (FreeBSD copies the bytes that fit).
//   - Exec closes the descriptors marked FD_CLOEXEC, which is all an exec
//     means here.
package sys
