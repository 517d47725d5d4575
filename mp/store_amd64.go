package mp

// storeRelease stores v at p for other processes to read with atomic
// loads, ordered after every store before it: on amd64 a plain store
// (a MOV, which the processor keeps in program order with the other
// stores, and which the compiler does not move across them), not
// atomic.Store's XCHG, a full barrier that waits for the store buffer to
// drain. The barrier is not needed where one writer holds a lock whose
// release is an atomic exchange anyway. Only for words of a shared
// mapping (outside Go's memory; the race detector does not see them)
// and only where a load that follows need not be ordered after it.
func storeRelease(p *uint64, v uint64) { *p = v }
