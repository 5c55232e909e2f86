package master

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the master's Prometheus metrics, in a registry of its own so that several masters
// can run in one process (tests, strata dev).
type metrics struct {
	reg               *prometheus.Registry
	requests          *prometheus.HistogramVec
	schedulerCalls    *prometheus.CounterVec
	statusUpdates     *prometheus.CounterVec
	acknowledgements  prometheus.Counter
	offersSent        prometheus.Counter
	offersDeclined    prometheus.Counter
	offersRescinded   prometheus.Counter
	tasksLaunched     prometheus.Counter
	tasksRejected     prometheus.Counter
	allocationSeconds prometheus.Histogram
}

func newMetrics(m *Master) *metrics {
	reg := prometheus.NewRegistry()
	const ns, sub = "strata", "master"
	mt := &metrics{
		reg: reg,
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "http_request_duration_seconds",
			Help:    "HTTP request latency by route and status code (streams count until they end).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
		}, []string{"route", "code"}),
		schedulerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "scheduler_calls_total", Help: "Scheduler API calls by type.",
		}, []string{"type"}),
		statusUpdates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "status_updates_total", Help: "Task status updates forwarded to frameworks, by state.",
		}, []string{"state"}),
		acknowledgements: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "acknowledgements_total", Help: "Status update acknowledgements received from frameworks.",
		}),
		offersSent: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "offers_sent_total", Help: "Offers sent to frameworks.",
		}),
		offersDeclined: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "offers_declined_total", Help: "Offers declined by frameworks.",
		}),
		offersRescinded: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "offers_rescinded_total", Help: "Offers rescinded by the master.",
		}),
		tasksLaunched: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "tasks_launched_total", Help: "Tasks accepted for launch.",
		}),
		tasksRejected: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "tasks_rejected_total", Help: "Tasks rejected with TASK_ERROR at launch.",
		}),
		allocationSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "allocation_pass_duration_seconds",
			Help:    "Wall time of allocation passes.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 4, 10),
		}),
	}
	reg.MustRegister(mt.requests, mt.schedulerCalls, mt.statusUpdates, mt.acknowledgements, mt.offersSent,
		mt.offersDeclined, mt.offersRescinded, mt.tasksLaunched, mt.tasksRejected, mt.allocationSeconds,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(newSnapshotCollector(m, ns, sub))
	return mt
}

// snapshotCollector exports gauges from the /metrics/snapshot values, taking one snapshot per
// scrape.
type snapshotCollector struct {
	m      *Master
	gauges []snapshotGauge
}

type snapshotGauge struct {
	desc *prometheus.Desc
	key  string
}

func newSnapshotCollector(m *Master, ns, sub string) *snapshotCollector {
	c := &snapshotCollector{m: m}
	add := func(name, help, key string) {
		c.gauges = append(c.gauges, snapshotGauge{prometheus.NewDesc(prometheus.BuildFQName(ns, sub, name), help, nil, nil), key})
	}
	add("agents", "Active agents.", "master/slaves_active")
	add("frameworks", "Active frameworks.", "master/frameworks_active")
	add("outstanding_offers", "Offers not yet used or declined.", "master/outstanding_offers")
	add("tasks_running", "Tasks in TASK_RUNNING.", "master/tasks_running")
	add("elected", "1 if this master leads.", "master/elected")
	return c
}

func (c *snapshotCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, g := range c.gauges {
		ch <- g.desc
	}
}

func (c *snapshotCollector) Collect(ch chan<- prometheus.Metric) {
	snap := c.m.metricsSnapshot()
	for _, g := range c.gauges {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, snap[g.key])
	}
}

func (mt *metrics) handler() http.Handler {
	return promhttp.HandlerFor(mt.reg, promhttp.HandlerOpts{})
}

// middleware records request latencies by route.
func (mt *metrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		mt.requests.WithLabelValues(route, strconv.Itoa(c.Writer.Status())).Observe(time.Since(start).Seconds())
	}
}

func (m *Master) snapshotValue(key string) float64 {
	return m.metricsSnapshot()[key]
}
