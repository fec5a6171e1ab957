package load

import (
	"math"
	"math/rand/v2"
)

// keyGen picks key numbers the way memtier's key patterns do, without
// allocating.
type keyGen struct {
	pattern byte
	lo, hi  uint64 // inclusive range this generator walks
	next    uint64 // S and P: the next key
	rng     *rand.Rand
	median  float64 // G
	stddev  float64 // G
}

// newKeyGen returns the generator for pattern over [kmin, kmax], for client
// number client of clients (P gives each client its own slice of the range).
func newKeyGen(pattern byte, kmin, kmax uint64, client, clients int, rng *rand.Rand) *keyGen {
	g := &keyGen{pattern: pattern, lo: kmin, hi: kmax, rng: rng}
	switch pattern {
	case 'P':
		span := (kmax - kmin + 1) / uint64(clients)
		if span == 0 {
			// More clients than keys: each client repeats one key.
			g.lo = kmin + uint64(client)%(kmax-kmin+1)
			g.hi = g.lo
			break
		}
		g.lo = kmin + uint64(client)*span
		g.hi = g.lo + span - 1
		if client == clients-1 {
			g.hi = kmax
		}
	case 'G':
		// memtier's defaults: centred, six standard deviations wide.
		g.median = float64(kmin) + float64(kmax-kmin)/2
		g.stddev = float64(kmax-kmin) / 6
	}
	g.next = g.lo
	return g
}

func (g *keyGen) key() uint64 {
	switch g.pattern {
	case 'S', 'P':
		k := g.next
		if g.next >= g.hi {
			g.next = g.lo
		} else {
			g.next++
		}
		return k
	case 'G':
		v := math.Round(g.rng.NormFloat64()*g.stddev + g.median)
		return uint64(min(max(v, float64(g.lo)), float64(g.hi)))
	}
	return g.lo + g.rng.Uint64N(g.hi-g.lo+1)
}
