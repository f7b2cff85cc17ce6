package socket

import "syscall"

// CMGROUP_MAX is the number of groups an SCM_CREDS message carries at most.
const CMGROUP_MAX = 16

// Cred is a credential (FreeBSD's ucred): who created a socket and who is
// allowed what on it.
//
// bsdnet has one rule where the manual's BUGS section lists several: the
// credential given to Create is cached in the socket for its whole life,
// and every later operation on the socket is authorized against that cached
// credential. No operation takes a thread or a second credential.
type Cred struct {
	Uid    uint32   // effective user id (cr_uid)
	Ruid   uint32   // real user id
	Gid    uint32   // effective group id (cr_groups[0])
	Rgid   uint32   // real group id
	Groups []uint32 // supplementary groups
	Pid    int32    // process id reported with SCM_CREDS and LOCAL_PEERCRED
}

// RootCred returns a credential for uid 0, gid 0.
func RootCred() *Cred { return &Cred{} }

// UserCred returns a credential with uid and gid as both effective and real
// ids.
func UserCred(uid, gid uint32) *Cred {
	return &Cred{Uid: uid, Ruid: uid, Gid: gid, Rgid: gid}
}

// CheckUID is socheckuid(9): it reports EPERM unless the socket's cached
// credential has user id uid (or so is nil).
func CheckUID(so *Socket, uid uint32) error {
	if so == nil || so.cred == nil || so.cred.Uid != uid {
		return syscall.EPERM
	}
	return nil
}

// Cred returns the credential cached at the socket's creation.
func (so *Socket) Cred() *Cred { return so.cred }
