// Package peers holds the benchmarks that measure bsdnet against peers
// needing modules beyond the standard library: gVisor's netstack, next to
// the host kernel's sockets through Go's net package, all in the same run.
//
// It is a module of its own (github.com/bsdnet/bsdnet/bench/peers) that
// takes bsdnet from the working tree (a replace directive pointing at
// ../..), so that bsdnet's own go.mod requires nothing for gVisor's sake.
// The benchmarks are in the package's test files; see README.md for how to
// run them.
package peers
