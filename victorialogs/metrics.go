package victorialogs

import (
	"github.com/prometheus/client_golang/prometheus"
)

// A Sink is a prometheus.Collector of its Stats, labelled with its
// target (the server's URL, which holds no credentials): several sinks
// register in one registry side by side.

// sinkMetric is one metric of a sink's Stats.
type sinkMetric struct {
	name, help string
	kind       prometheus.ValueType
	value      func(st Stats) float64
}

var sinkMetrics = []sinkMetric{
	{"sshwhy_ship_events_total", "Events VictoriaLogs acknowledged.", prometheus.CounterValue,
		func(st Stats) float64 { return float64(st.Shipped) }},
	{"sshwhy_ship_sent_bytes_total", "Bytes of the batches VictoriaLogs acknowledged, as sent.", prometheus.CounterValue,
		func(st Stats) float64 { return float64(st.SentBytes) }},
	{"sshwhy_ship_retries_total", "Failed attempts to send a batch (each is retried with backoff).", prometheus.CounterValue,
		func(st Stats) float64 { return float64(st.Retried) }},
	{"sshwhy_ship_spooled_bytes", "Bytes spooled on disk that VictoriaLogs has not acknowledged yet.", prometheus.GaugeValue,
		func(st Stats) float64 { return float64(st.SpooledBytes) }},
	{"sshwhy_ship_dropped_events_total", "Events dropped because the spool was full (spool_max).", prometheus.CounterValue,
		func(st Stats) float64 { return float64(st.Dropped) }},
	{"sshwhy_ship_last_success_timestamp_seconds", "When VictoriaLogs last acknowledged a batch (Unix time; 0: not yet).", prometheus.GaugeValue,
		func(st Stats) float64 {
			if st.LastSuccess.IsZero() {
				return 0
			}
			return float64(st.LastSuccess.UnixNano()) / 1e9
		}},
}

func (s *Sink) descs() []*prometheus.Desc {
	s.descOnce.Do(func() {
		labels := prometheus.Labels{"target": s.client.URL()}
		for _, m := range sinkMetrics {
			s.desc = append(s.desc, prometheus.NewDesc(m.name, m.help, nil, labels))
		}
	})
	return s.desc
}

// Describe implements prometheus.Collector.
func (s *Sink) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range s.descs() {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *Sink) Collect(ch chan<- prometheus.Metric) {
	st := s.Stats()
	for i, d := range s.descs() {
		ch <- prometheus.MustNewConstMetric(d, sinkMetrics[i].kind, sinkMetrics[i].value(st))
	}
}
