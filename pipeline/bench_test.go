package pipeline

import (
	"context"

	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sshwhy/sshwhy/classify"
	"github.com/sshwhy/sshwhy/ingest"
	"github.com/sshwhy/sshwhy/internal/loggen"
	"github.com/sshwhy/sshwhy/rules"
)

// benchLogs caches the generated logs of the benchmarks, by name.
var benchLogs struct {
	sync.Mutex
	dir   string
	paths map[string]string
}

// benchLog writes (once per process) a loggen log of n lines with cfg's
// changes and returns its path.
func benchLog(b *testing.B, name string, n int, mod func(*loggen.Config)) string {
	benchLogs.Lock()
	defer benchLogs.Unlock()
	if p, ok := benchLogs.paths[name]; ok {
		return p
	}
	if benchLogs.dir == "" {
		d, err := os.MkdirTemp("", "sshwhy-bench")
		if err != nil {
			b.Fatal(err)
		}
		benchLogs.dir, benchLogs.paths = d, map[string]string{}
	}
	cfg := loggen.DefaultConfig()
	cfg.Lines = n
	mod(&cfg)
	p := filepath.Join(benchLogs.dir, name+".log")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := loggen.Generate(f, nil, cfg); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	benchLogs.paths[name] = p
	return p
}

// The logs: loggen's default mix (two hosts), the event-dense mix on one
// host and on 16 hosts.
var benchCases = []struct {
	name string
	mod  func(*loggen.Config)
}{
	{"default", func(*loggen.Config) {}},
	{"dense", func(c *loggen.Config) { c.Dense, c.Noise, c.Users, c.Hosts = true, 0, 0, 1 }},
	{"dense16", func(c *loggen.Config) { c.Dense, c.Noise, c.Users, c.Hosts = true, 0, 0, 16 }},
}

// BenchmarkDrain is `sshwhy classify --format json FILE > /dev/null`
// without the CLI: a file read, classified and every event encoded, on
// one goroutine (serial) and on three (parallel, Config.Parallel).
func BenchmarkDrain(b *testing.B) {
	rs, err := rules.Load()
	if err != nil {
		b.Fatal(err)
	}
	const n = 500000
	for _, bc := range benchCases {
		for _, parallel := range []bool{false, true} {
			name := bc.name + "/serial"
			if parallel {
				name = bc.name + "/parallel"
			}
			b.Run(name, func(b *testing.B) {
				path := benchLog(b, bc.name, n, bc.mod)
				buf := make([]byte, 0, 4096)
				out := 0
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					p, err := New(Config{Rules: rs, Parallel: parallel, Classify: classify.Options{ReuseEvents: true},
						Sinks: []Sink{SinkFunc(func(ev *classify.Event) error {
							buf = classify.AppendJSON(buf[:0], ev)
							buf = append(buf, '\n')
							out += len(buf)
							return nil
						})}})
					if err != nil {
						b.Fatal(err)
					}
					f, err := ingest.Open(path, ingest.Options{Loc: time.UTC})
					if err != nil {
						b.Fatal(err)
					}
					if err := p.Drain(context.Background(), f, nil); err != nil {
						b.Fatal(err)
					}
					if err := p.End(); err != nil {
						b.Fatal(err)
					}
					f.Close()
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "lines/s")
				b.ReportMetric(float64(out)/float64(b.N), "out-bytes")
			})
		}
	}
}
