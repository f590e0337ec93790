package report

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/index"
)

func TestZZTiming(t *testing.T) {
	dir := os.Getenv("SSHWHY_BENCH_INDEX")
	if dir == "" {
		return
	}
	r, _ := index.OpenReader(dir, index.ReaderOptions{})
	defer r.Close()
	b, _ := newBuilder(r, Options{Day: time.Date(2026, 1, 8, 0, 0, 0, 0, time.UTC), Days: 30, Loc: time.UTC})
	ctx := context.Background()
	for name, step := range map[string]func(context.Context) error{} {
		_ = name
		_ = step
	}
	steps := []struct {
		n string
		f func(context.Context) error
	}{{"daily", b.daily}, {"hourly", b.hourly}, {"perCause", b.perCause}, {"sessions", b.sessions}, {"newLogins", b.newLogins}, {"open", b.open}}
	for _, s := range steps {
		t0 := time.Now()
		if err := s.f(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s %v", s.n, time.Since(t0))
	}
	t0 := time.Now()
	b.findings(ctx)
	t.Logf("findings %v", time.Since(t0))
}
