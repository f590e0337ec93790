package agent

import (
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/sshwhy/sshwhy/cause"
	"github.com/sshwhy/sshwhy/classify"
)

// metrics are the agent's Prometheus metrics, in a registry of its own
// (nothing global: tests run several agents in one process).
type metrics struct {
	reg       *prometheus.Registry
	ends      *prometheus.CounterVec
	sessions  *prometheus.CounterVec
	lines     *prometheus.CounterVec
	unmatched prometheus.Counter
	lag       *prometheus.GaugeVec
	batch     prometheus.Histogram
	errors    *prometheus.CounterVec
	open      prometheus.Gauge
	commitTS  prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		ends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sshwhy_connection_ends_total",
			Help: "SSH connections that ended, by cause and host.",
		}, []string{"cause", "host"}),
		sessions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sshwhy_session_ends_total",
			Help: "Authenticated sessions that ended, by cause and source network (/24, /64). Only sessions: an attacker cannot make up networks here.",
		}, []string{"cause", "network"}),
		lines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sshwhy_lines_read_total",
			Help: "Log lines read, by source (journal or file path).",
		}, []string{"source"}),
		unmatched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sshwhy_lines_unmatched_total",
			Help: "sshd lines no rule matched (sshwhy rules test shows them).",
		}),
		lag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sshwhy_source_lag_seconds",
			Help: "Wall clock minus the log time of the last line read from the source.",
		}, []string{"source"}),
		batch: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sshwhy_index_batch_seconds",
			Help:    "Time to make a batch of events durable in the index and save the checkpoint.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sshwhy_errors_total",
			Help: "Errors, by kind (source, commit, api, report).",
		}, []string{"kind"}),
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sshwhy_open_connections",
			Help: "Connections being followed (not ended yet).",
		}),
		commitTS: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sshwhy_last_commit_timestamp_seconds",
			Help: "When the index and checkpoint were last brought up to date (Unix time).",
		}),
	}
	m.reg.MustRegister(m.ends, m.sessions, m.lines, m.unmatched, m.lag, m.batch, m.errors, m.open, m.commitTS,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, kind := range []string{"source", "commit", "api", "report"} {
		m.errors.WithLabelValues(kind) // exported at 0 from the start
	}
	return m
}

// sink counts connection ends as the pipeline emits them.
func (m *metrics) sink() metricsSink { return metricsSink{m} }

type metricsSink struct{ m *metrics }

func (s metricsSink) Write(e *classify.Event) error {
	s.m.ends.WithLabelValues(string(e.Cause), e.Host).Inc()
	if e.Phase == cause.Postauth {
		if n := network(e.SrcIP); n != "" {
			s.m.sessions.WithLabelValues(string(e.Cause), n).Inc()
		}
	}
	return nil
}

// network is the /24 (IPv4) or /64 (IPv6) of an address, "" if it is none.
func network(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap()
	bits := 64
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}
func (s metricsSink) Flush() error { return nil }
func (s metricsSink) Close() error { return nil }
