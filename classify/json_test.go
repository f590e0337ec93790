package classify

import (
	"math/rand/v2"
	"testing"
	"time"
)

// AppendTime must write exactly what time.AppendFormat writes.
func TestAppendTime(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("x", 2*3600), time.FixedZone("y", -(5*3600 + 30*60)),
		time.FixedZone("odd", 3*3600+17), time.FixedZone("z", 14*3600)}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		tm := time.Unix(r.Int64N(1<<34)-1<<32, r.Int64N(1e9)).In(zones[i%len(zones)])
		for prec := int8(-1); prec <= 10; prec++ {
			p := max(min(prec, 9), 0)
			want := tm.AppendFormat(nil, timeLayouts[p])
			if got := AppendTime(nil, tm, prec); string(got) != string(want) {
				t.Fatalf("AppendTime(%v, %d) = %s, want %s", tm, prec, got, want)
			}
		}
	}
}
