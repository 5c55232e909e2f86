package server

import (
	"errors"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
)

// The query types and response codes the queries counter distinguishes; anything else is
// counted as "other". The counters are created up front so that counting a query is an
// array index and an atomic add, not a label lookup.
var (
	metricQtypes = []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeSRV, dns.TypeANY, dns.TypeSOA,
		dns.TypeNS, dns.TypePTR, dns.TypeTXT, dns.TypeMX, dns.TypeCNAME, dns.TypeHTTPS}
	metricRcodes = []int{dns.RcodeSuccess, dns.RcodeFormatError, dns.RcodeServerFailure,
		dns.RcodeNameError, dns.RcodeNotImplemented, dns.RcodeRefused}
)

const otherLabel = "other"

type metrics struct {
	queries   [][]prometheus.Counter // [qtype index][rcode index], last = other
	forwarded *prometheus.CounterVec // by outcome
	fwdOK     prometheus.Counter
	fwdFailed prometheus.Counter
	hits      prometheus.Counter
	misses    prometheus.Counter
	upstream  prometheus.Histogram
	packed    *prometheus.CounterVec // packed-answer cache, by result
	packedHit prometheus.Counter
	packedMis prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	qv := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "strata_dns_queries_total",
		Help: "DNS queries answered, by query type and response code.",
	}, []string{"qtype", "rcode"})
	m := &metrics{
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_dns_forwarded_total",
			Help: "Queries for other zones sent upstream, by outcome (answered: an upstream replied; failed: every upstream failed).",
		}, []string{"outcome"}),
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strata_dns_cache_hits_total", Help: "Forwarded queries answered from the cache.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "strata_dns_cache_misses_total", Help: "Forwarded queries not found in the cache.",
		}),
		upstream: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "strata_dns_upstream_duration_seconds",
			Help:    "Time to get an answer from the upstream resolvers, failures included.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
		packed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_dns_answer_cache_total",
			Help: "Large authoritative answers sent from the packed-answer cache (hit) or packed for it (miss).",
		}, []string{"result"}),
	}
	if reg != nil {
		qv = register(reg, qv)
		m.forwarded = register(reg, m.forwarded)
		m.hits = register(reg, m.hits)
		m.misses = register(reg, m.misses)
		m.upstream = register(reg, m.upstream)
		m.packed = register(reg, m.packed)
	}
	m.packedHit = m.packed.WithLabelValues("hit")
	m.packedMis = m.packed.WithLabelValues("miss")
	m.fwdOK = m.forwarded.WithLabelValues("answered")
	m.fwdFailed = m.forwarded.WithLabelValues("failed")
	m.queries = make([][]prometheus.Counter, len(metricQtypes)+1)
	for i := range m.queries {
		qt := otherLabel
		if i < len(metricQtypes) {
			qt = dns.TypeToString[metricQtypes[i]]
		}
		row := make([]prometheus.Counter, len(metricRcodes)+1)
		for j := range row {
			rc := otherLabel
			if j < len(metricRcodes) {
				rc = dns.RcodeToString[metricRcodes[j]]
			}
			row[j] = qv.WithLabelValues(qt, rc)
		}
		m.queries[i] = row
	}
	return m
}

// register registers c on reg; if an identical collector is registered already (a second
// Server on the same registry), it returns that one, so that both count together. Any other
// registration error is a programming error and panics, as MustRegister does.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic(err)
	}
	return c
}

// countQuery counts one answered query.
func (m *metrics) countQuery(qtype uint16, rcode int) {
	i := len(metricQtypes)
	for k, t := range metricQtypes {
		if t == qtype {
			i = k
			break
		}
	}
	j := len(metricRcodes)
	for k, c := range metricRcodes {
		if c == rcode {
			j = k
			break
		}
	}
	m.queries[i][j].Inc()
}

// countAnswerCache counts one answer sent from the packed-answer cache (hit) or packed and
// stored in it (miss).
func (m *metrics) countAnswerCache(hit bool) {
	if hit {
		m.packedHit.Inc()
	} else {
		m.packedMis.Inc()
	}
}
