// Package socket is bsdnet's socket layer: FreeBSD's socket(9), the kernel
// socket interface, in Go.
//
// A Vnet is one stack's socket layer. Domains (protocol families) attach to
// it with a protocol switch each (Protosw, whose operations are the Protocol
// interface). Sockets are made by Vnet.Create and driven through the methods
// of Socket, which carry FreeBSD's semantics and errnos (syscall.Errno).
//
// Blocking calls take a context.Context: its cancellation is what a signal
// is to msleep(9) (EINTR), its deadline, like SO_RCVTIMEO and SO_SNDTIMEO,
// ends a wait with EWOULDBLOCK. MSG_DONTWAIT and non-blocking sockets never
// sleep, in send as in receive. Sleeps are channel waits, so that a stack
// built inside a testing/synctest bubble blocks durably and runs on its
// virtual clock. No goroutine is started per socket.
//
// Credentials follow one rule (where the manual's BUGS section lists
// several): the Cred given to Create is cached for the socket's life and
// authorizes every later operation on it.
//
// # The manual's functions
//
// Every function of socket(9)'s SYNOPSIS and its Go counterpart:
//
//	soabort             (*Socket).Abort
//	soaccept            (*Socket).Accept (after (*Socket).ListenDequeue, solisten_dequeue)
//	socheckuid          CheckUID
//	sobind              (*Socket).Bind
//	soclose             (*Socket).Close
//	soconnect           (*Socket).Connect, then (*Socket).WaitConnected
//	soconnect2          Connect2
//	socreate            (*Vnet).Create
//	sodisconnect        (*Socket).Disconnect
//	sodtor_set          (*Socket).DtorSet
//	sodupsockaddr       DupSockaddr
//	sofree              internal: the last reference frees (see Socket)
//	sohasoutofband      (*Socket).HasOutOfBand
//	solisten            (*Socket).Listen
//	solisten_proto      (*Socket).ListenProto
//	solisten_proto_check (*Socket).ListenProtoCheck (and ListenProtoAbort)
//	sonewconn           (*Socket).Newconn
//	sopoll              (*Socket).Poll
//	sopoll_generic      (*Socket).PollGeneric
//	soreceive           (*Socket).Receive
//	soreceive_dgram     (*Socket).ReceiveDgram
//	soreceive_generic   (*Socket).ReceiveGeneric
//	soreceive_stream    (*Socket).ReceiveStream
//	soreserve           (*Socket).Reserve
//	sorflush            (*Socket).Rflush
//	sosend              (*Socket).Send
//	sosend_dgram        (*Socket).SendDgram
//	sosend_generic      (*Socket).SendGeneric
//	soshutdown          (*Socket).Shutdown
//	sotoxsocket         (*Socket).ToXsocket
//	soupcall_clear      (*Socket).UpcallClear
//	soupcall_set        (*Socket).UpcallSet (listeners: ListenUpcallSet)
//	sowakeup            (*Socket).Wakeup
//	sorwakeup           (*Socket).Rwakeup
//	sorwakeup_locked    (*Socket).RwakeupLocked
//	sowwakeup           (*Socket).Wwakeup
//	sowwakeup_locked    (*Socket).WwakeupLocked
//	sogetopt            (*Socket).GetOpt
//	sosetopt            (*Socket).SetOpt
//	sooptcopyin         (*Sockopt).OptCopyIn
//	sooptcopyout        (*Sockopt).OptCopyOut
//
// The manual's arguments map as follows: struct uio is Uio; the mbuf
// chains top, mp0 and control are *mbuf.Mbuf; struct sockaddr is Sockaddr;
// struct thread is gone (see the credential rule) and its role as the
// sleeper is the context.
//
// # What differs from FreeBSD
//
//   - soconnect clears SS_ISCONNECTING itself when it fails (the manual's
//     BUGS section asks callers to).
//   - MSG_DONTWAIT is honoured by sosend (the manual's BUGS section says it
//     is not).
//   - A receive with MSG_PEEK never returns in-flight descriptors.
//   - Close (soclose) releases one holder; the socket closes with the last,
//     so a socket in flight in SCM_RIGHTS stays open (FreeBSD's file
//     references).
package socket
